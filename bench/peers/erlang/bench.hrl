%% bench/peers/erlang/bench.hrl — shared by the Erlang/OTP peer workloads.

%% How long a setup or final wait may take before the case is declared hung.
%% Hot loops have no `after` clause (a receive timeout arms a timer); the
%% runner's per-case limit (bench_main) backs them up.
-define(WAIT_MS, 60000).

-define(WAIT(Pattern, Body),
        receive Pattern -> Body after ?WAIT_MS -> erlang:error({timeout, ??Pattern}) end).
