%% bench/peers/erlang/bench_dist.erl — issue 14's messaging cases on Erlang
%% distribution, the peer of bench/cluster_remote.c: two nodes on loopback
%% (dist.sh starts them), node b serving, node a measuring.
%%   remote_tell  2 sender processes on a, each sending N 16-byte binaries to
%%                its own counter process on b: messages received per second
%%                on b, from the first send to the last receipt
%%   remote_ask   a process on a calling an echo process on b, one call at a
%%                time: p50 and p99 round trip
-module(bench_dist).
-export([serve/0, main/1]).

serve() ->
    register(echo, spawn(fun echo/0)),
    receive stop -> ok end.

echo() ->
    receive
        {ask, From, Ref, Bin} -> From ! {Ref, Bin}, echo();
        {counter, From, N} -> From ! {counter, spawn(fun() -> count(N, 0, undefined) end)}, echo()
    end.

count(N, N, To) -> To ! {done, erlang:monotonic_time(nanosecond)};
count(N, I, To) ->
    receive
        {start, T} -> count(N, I, T);
        _Msg -> count(N, I + 1, To)
    end.

main([BNode, NStr]) ->
    B = list_to_atom(BNode),
    N = list_to_integer(NStr),
    true = net_kernel:connect_node(B),
    tell(B, N),
    ask(B, N div 50),
    rpc:call(B, init, stop, []),
    ok.

counter(B, N) ->
    {echo, B} ! {counter, self(), N},
    receive {counter, C} -> C end.

tell(B, N) ->
    Cs = [counter(B, N), counter(B, N)],
    [C ! {start, self()} || C <- Cs],
    Payload = <<"0123456789abcdef">>,
    T0 = erlang:monotonic_time(nanosecond),
    [spawn(fun() -> send(C, Payload, N) end) || C <- Cs],
    Ends = [receive {done, T} -> T end || _ <- Cs],
    Secs = (lists:max(Ends) - T0) / 1.0e9,
    summary(remote_tell, throughput, 2 * N / Secs, "msg/s").

send(_C, _P, 0) -> ok;
send(C, P, I) -> C ! P, send(C, P, I - 1).

ask(B, N) ->
    Echo = {echo, B},
    [call(Echo) || _ <- lists:seq(1, N div 10 + 1)],
    Lat = lists:sort([begin T0 = erlang:monotonic_time(nanosecond), call(Echo),
                            erlang:monotonic_time(nanosecond) - T0 end || _ <- lists:seq(1, N)]),
    summary(remote_ask, p50, lists:nth(N div 2 + 1, Lat) / 1000, "us"),
    summary(remote_ask, p99, lists:nth(min(N, N * 99 div 100 + 1), Lat) / 1000, "us").

call(Echo) ->
    Ref = make_ref(),
    Echo ! {ask, self(), Ref, <<"0123456789abcdef">>},
    receive {Ref, _} -> ok end.

summary(Bench, Metric, Value, Unit) ->
    io:format("SUMMARY bench=~s impl=erlang metric=~s value=~.3f unit=~s~n",
              [Bench, Metric, float(Value), Unit]).
