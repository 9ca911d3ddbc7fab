%% bench/peers/erlang/bench_main.erl — the runner of the Erlang/OTP peer
%% workloads, and what they share: the scale, the clock, the checks.
%%
%% run.sh starts one VM per case:
%%   erl +S 2:2 -noshell -pa DIR -eval 'bench_main:main(ping_pong)' -s init stop
%% The case runs in a process of its own and returns its figures as
%% [{Bench, Metric, Value, Unit}]; only when it returns (all its own
%% cross-checks passed) are they printed on stdout, one line each:
%%   SUMMARY bench=<case> impl=erlang metric=<name> value=<number> unit=<unit>
%% A failed check, a crash or a hang prints why on stderr, nothing on
%% stdout, and halts the VM with status 1.
-module(bench_main).

-export([main/1, cases/0]).
-export([scaled/3, now_ns/0, secs/1, check/2, percentile/2, idle/0]).

%% The whole case, setup included, must end within this (ms).
-define(CASE_LIMIT_MS, 600000).

%% Case name -> {Module, Function, ExtraArgs}; Function(ExtraArgs ++ [Scale]).
cases() ->
    [{ping_pong, {bench_savina, ping_pong, []}},
     {counting, {bench_savina, counting, []}},
     {fork_join_throughput, {bench_savina, fork_join_throughput, []}},
     {fork_join_create, {bench_savina, fork_join_create, []}},
     {thread_ring, {bench_savina, thread_ring, []}},
     {chameneos, {bench_savina, chameneos, []}},
     {big, {bench_savina, big, []}},
     {fan_in_2, {bench_procs, fan_in, [2]}},
     {fan_in_16, {bench_procs, fan_in, [16]}},
     {fan_in_256, {bench_procs, fan_in, [256]}},
     {spawn, {bench_procs, spawn_idle, []}},
     {restart_cycle, {bench_otp, restart_cycle, []}},
     {one_for_all_1000, {bench_otp, one_for_all_1000, []}},
     {registry_lookup, {bench_procs, registry_lookup, []}},
     {ask_latency, {bench_otp, ask_latency, []}},
     {idle_cpu, {bench_procs, idle_cpu, []}},
     {group_publish_1000, {bench_group, publish, []}}].

main(Case) when is_atom(Case) ->
    try
        Results = run(Case),
        [io:format("SUMMARY bench=~s impl=erlang metric=~s value=~s unit=~s~n",
                   [B, M, number(V), U]) || {B, M, V, U} <- Results],
        ok
    catch
        Class:Reason:Stack ->
            io:format(standard_error, "erlang ~s: FAIL ~p:~p~n  ~p~n", [Case, Class, Reason, Stack]),
            erlang:halt(1)
    end.

run(Case) ->
    Scale = scale(),
    {Mod, Fun, Args} = case lists:keyfind(Case, 1, cases()) of
                           {_, MFA} -> MFA;
                           false -> erlang:error({unknown_case, Case})
                       end,
    %% The case's helpers are linked to it: its exit (with the result as
    %% reason, so never `normal`) takes them down, supervisors included.
    {Pid, Ref} = spawn_monitor(fun() -> exit({result, apply(Mod, Fun, Args ++ [Scale])}) end),
    receive
        {'DOWN', Ref, process, Pid, {result, Results}} when is_list(Results) ->
            Results;
        {'DOWN', Ref, process, Pid, Reason} ->
            erlang:error({case_failed, Reason})
    after ?CASE_LIMIT_MS ->
        exit(Pid, kill),
        erlang:error({case_hung, ?CASE_LIMIT_MS div 1000, seconds})
    end.

%% TROUPE_BENCH_SCALE, a number in (0, 100]; 1 when unset.
scale() ->
    case os:getenv("TROUPE_BENCH_SCALE") of
        false -> 1.0;
        "" -> 1.0;
        S ->
            case parse_number(string:trim(S)) of
                V when is_number(V), V > 0, V =< 100 -> float(V);
                _ -> erlang:error({bad_scale, S, "want a number in (0, 100]"})
            end
    end.

parse_number(S) ->
    Tries = [fun() -> list_to_float(S) end,
             fun() -> list_to_integer(S) end,
             fun() -> list_to_float("0" ++ S) end,          % ".5"
             fun() -> list_to_float(fix_exponent(S)) end],  % "5e-2"
    first_parse(Tries).

first_parse([]) -> bad;
first_parse([F | Rest]) ->
    try F() catch error:badarg -> first_parse(Rest) end.

fix_exponent(S) ->
    case string:split(string:lowercase(S), "e") of
        [M, E] ->
            case lists:member($., M) of
                true -> M ++ "e" ++ E;
                false -> M ++ ".0e" ++ E
            end;
        _ -> S
    end.

%% Base * Scale, rounded, at least Min.
scaled(Base, Scale, Min) ->
    max(Min, round(Base * Scale)).

now_ns() ->
    erlang:monotonic_time(nanosecond).

secs(Ns) ->
    Ns / 1.0e9.

check(true, _What) -> ok;
check(false, What) -> erlang:error({check_failed, What}).

%% Nearest-rank percentile of a list of numbers: element floor(N * P / 100)
%% of the sorted list (0-based), as troupe's and CAF's programs take it.
percentile(Values, P) ->
    Sorted = list_to_tuple(lists:sort(Values)),
    N = tuple_size(Sorted),
    element(min(N - 1, (N * P) div 100) + 1, Sorted).

%% An idle process: waits in receive until told to stop.
idle() ->
    receive stop -> ok end.

number(V) when is_integer(V) -> integer_to_list(V);
number(V) when is_float(V) -> float_to_list(V, [{decimals, 4}, compact]).
