// tests/trace/receiver.js PORT_FILE OUT_FILE [FAIL_FIRST]
// An OTLP/HTTP traces receiver for tests/trace/run.sh: POST /v1/traces,
// protobuf decoded by the OpenTelemetry project's own generated code
// (@opentelemetry/otlp-transformer 0.57.x ships it), JSON parsed as
// OTLP/JSON. Each span becomes one JSON line in OUT_FILE (ids in hex, a
// missing parent as ""); the first FAIL_FIRST requests are answered 503.
// Listens on a free loopback port, written to PORT_FILE.
'use strict';
const fs = require('fs');
const http = require('http');
const path = require('path');

const npmDir = process.env.TROUPE_NPM_DIR || __dirname;
const root = require(path.join(npmDir, 'node_modules/@opentelemetry/otlp-transformer/build/src/generated/root.js'));
const Req = root.opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest;

const [portFile, outFile, failFirst] = process.argv.slice(2);
let toFail = Number(failFirst || 0);
let requests = 0;

const hex = (b) => (b && b.length ? Buffer.from(b).toString('hex') : '');
const anyValue = (v) => {
    if (!v) return null;
    if (v.stringValue !== undefined && v.stringValue !== null) return v.stringValue;
    if (v.intValue !== undefined && v.intValue !== null) return String(v.intValue);
    return null;
};

function spansOf(req, json) {
    const out = [];
    for (const rs of req.resourceSpans || [])
        for (const ss of rs.scopeSpans || [])
            for (const s of ss.spans || []) {
                const attrs = {};
                for (const kv of s.attributes || []) attrs[kv.key] = anyValue(kv.value);
                out.push({
                    traceId: json ? s.traceId || '' : hex(s.traceId),
                    spanId: json ? s.spanId || '' : hex(s.spanId),
                    parentSpanId: json ? s.parentSpanId || '' : hex(s.parentSpanId),
                    name: s.name,
                    kind: s.kind,
                    attributes: attrs,
                    events: (s.events || []).map((e) => e.name),
                    // unix ns as decimal strings (a protobuf fixed64 is a Long)
                    start: String(s.startTimeUnixNano || 0),
                    end: String(s.endTimeUnixNano || 0),
                    json,
                });
            }
    return out;
}

const server = http.createServer((rq, rs) => {
    const chunks = [];
    rq.on('data', (c) => chunks.push(c));
    rq.on('end', () => {
        requests++;
        if (rq.method !== 'POST' || rq.url !== '/v1/traces') {
            rs.writeHead(404).end();
            return;
        }
        if (toFail > 0) {
            toFail--;
            rs.writeHead(503).end();
            return;
        }
        const body = Buffer.concat(chunks);
        const json = (rq.headers['content-type'] || '').startsWith('application/json');
        let spans;
        try {
            spans = spansOf(json ? JSON.parse(body.toString('utf8')) : Req.decode(body), json);
        } catch (e) {
            console.error('receiver: cannot decode:', e.message);
            rs.writeHead(400).end();
            return;
        }
        fs.appendFileSync(outFile, spans.map((s) => JSON.stringify(s) + '\n').join(''));
        rs.writeHead(200, { 'Content-Type': json ? 'application/json' : 'application/x-protobuf' });
        rs.end(json ? '{}' : '');
    });
});
server.listen(0, '127.0.0.1', () => {
    fs.writeFileSync(portFile + '.tmp', String(server.address().port));
    fs.renameSync(portFile + '.tmp', portFile);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
