%% bench/peers/erlang/bench_procs.erl — plain-process workloads: fan-in,
%% spawning idle processes, registered-name lookup, idle CPU.
%%
%%   fan_in_N         N senders share 4,000,000 messages to one counter
%%   spawn            1,000,000 processes idle in receive: rate, memory each
%%   registry_lookup  1,000 names (register/2), 2 processes doing whereis,
%%                    5,000,000 lookups in all
%%   idle_cpu         10,000 idle processes, the VM's CPU over 5 s
-module(bench_procs).

-export([fan_in/2, spawn_idle/1, registry_lookup/1, idle_cpu/1]).

-include("bench.hrl").

-import(bench_main, [scaled/3, now_ns/0, secs/1, check/2, idle/0]).

%% ---- fan_in_N ----------------------------------------------------------------------

fan_in(Senders, Scale) ->
    Per = scaled(4000000 div Senders, Scale, 1000),
    Total = Senders * Per,
    Self = self(),
    %% off_heap: the usual setting for a process many others send to (the
    %% senders do not contend for its main lock).
    Counter = spawn_opt(fun() -> fan_counter(Self, Total, 0, 0) end,
                        [link, {message_queue_data, off_heap}]),
    Pids = [spawn_link(fun() -> receive go -> fan_send(Counter, Per) end end)
            || _ <- lists:seq(1, Senders)],
    T0 = now_ns(),
    [P ! go || P <- Pids],
    {Count, Sum} = ?WAIT({fan_done, C, S}, {C, S}),
    T1 = now_ns(),
    check({Count, Sum} =:= {Total, Senders * (Per * (Per + 1) div 2)},
          {received, Count, sum, Sum, sent, Total}),
    Bench = list_to_atom("fan_in_" ++ integer_to_list(Senders)),
    [{Bench, throughput, Total / secs(T1 - T0), 'msg/s'}].

fan_send(_Counter, 0) ->
    ok;
fan_send(Counter, K) ->
    Counter ! K,
    fan_send(Counter, K - 1).

fan_counter(Main, Total, Total, Sum) ->
    Main ! {fan_done, Total, Sum};
fan_counter(Main, Total, Count, Sum) ->
    receive
        K -> fan_counter(Main, Total, Count + 1, Sum + K)
    end.

%% ---- spawn -------------------------------------------------------------------------

spawn_idle(Scale) ->
    N = scaled(1000000, Scale, 1000),
    garbage_collect(),
    Procs0 = erlang:system_info(process_count),
    Mem0 = erlang:memory(total),
    Rss0 = rss_bytes(),
    T0 = now_ns(),
    spawn_n(N),
    T1 = now_ns(),
    Mem1 = erlang:memory(total),
    Rss1 = rss_bytes(),
    Procs1 = erlang:system_info(process_count),
    %% No pid list is kept (it would count in the memory): the process count
    %% says they are all there.
    check(Procs1 - Procs0 =:= N, {processes, Procs1 - Procs0, spawned, N}),
    [{spawn, rate, N / secs(T1 - T0), 'actors/s'},
     {spawn, bytes_per_actor, (Mem1 - Mem0) / N, bytes},
     {spawn, rss_per_actor, (Rss1 - Rss0) / N, bytes}].

spawn_n(0) -> ok;
spawn_n(K) ->
    spawn(fun bench_main:idle/0),
    spawn_n(K - 1).

%% Resident set size of the VM (/proc/self/statm: pages).
rss_bytes() ->
    {ok, Statm} = file:read_file("/proc/self/statm"),
    [_Size, Resident | _] = string:lexemes(binary_to_list(Statm), " \n"),
    list_to_integer(Resident) * page_size().

page_size() ->
    try list_to_integer(string:trim(os:cmd("getconf PAGESIZE")))
    catch error:badarg -> 4096
    end.

%% ---- registry_lookup ---------------------------------------------------------------

-define(NAMES, 1000).
-define(LOOKERS, 2).

registry_lookup(Scale) ->
    Per = scaled(5000000, Scale, 20000) div ?LOOKERS,
    Names = [list_to_atom("troupe_bench_name_" ++ integer_to_list(I))
             || I <- lists:seq(1, ?NAMES)],
    Pids = [spawn_link(fun bench_main:idle/0) || _ <- Names],
    [true = register(Name, Pid) || {Name, Pid} <- lists:zip(Names, Pids)],
    NameT = list_to_tuple(Names),
    PidT = list_to_tuple(Pids),
    Self = self(),
    Lookers = [spawn_link(fun() ->
                                  receive go -> ok end,
                                  Found = lookups(NameT, PidT, Per, Seed, 0),
                                  Self ! {looked_up, self(), Found}
                          end)
               || Seed <- lists:seq(1, ?LOOKERS)],
    T0 = now_ns(),
    [L ! go || L <- Lookers],
    Found = [?WAIT({looked_up, L, F}, F) || L <- Lookers],
    T1 = now_ns(),
    check(Found =:= lists:duplicate(?LOOKERS, Per), {found, Found, each_looked_up, Per}),
    [{registry_lookup, lookups, ?LOOKERS * Per / secs(T1 - T0), 'ops/s'}].

%% Whereis a pseudo-random name (a small LCG picks it); count the lookups
%% that found the process registered under that name.
lookups(_Names, _Pids, 0, _Rng, Found) ->
    Found;
lookups(Names, Pids, K, Rng, Found) ->
    Rng1 = (Rng * 1103515245 + 12345) band 16#7fffffff,
    I = Rng1 rem ?NAMES + 1,
    case whereis(element(I, Names)) =:= element(I, Pids) of
        true -> lookups(Names, Pids, K - 1, Rng1, Found + 1);
        false -> lookups(Names, Pids, K - 1, Rng1, Found)
    end.

%% ---- idle_cpu ----------------------------------------------------------------------

idle_cpu(Scale) ->
    N = scaled(10000, Scale, 100),
    WindowMs = max(1000, round(5000 * Scale)),
    CpuNs = cpu_clock(),
    Self = self(),
    %% Each handles one message, then waits in receive.
    Pids = [spawn_link(fun() -> receive poke -> Self ! poked end, idle() end)
            || _ <- lists:seq(1, N)],
    [P ! poke || P <- Pids],
    [?WAIT(poked, ok) || _ <- Pids],
    timer:sleep(200),             % let the schedulers stop spinning
    Cpu0 = CpuNs(),
    T0 = now_ns(),
    timer:sleep(WindowMs),
    Cpu1 = CpuNs(),
    T1 = now_ns(),
    Alive = length([P || P <- Pids, is_process_alive(P)]),
    check(Alive =:= N, {idle_alive, Alive, of_, N}),
    [{idle_cpu, cpu, 100 * (Cpu1 - Cpu0) / (T1 - T0), percent}].

%% A reader of the CPU time (user + system, ns) the VM's OS process has used.
%% The time on CPU of each of its threads (/proc/PID/task/TID/schedstat,
%% first field, ns; the VM's threads all live from start to end) where the
%% kernel has it; else utime + stime of /proc/PID/stat, whose 10 ms ticks
%% are 0.2 % of a 5 s window.
cpu_clock() ->
    Pid = os:getpid(),
    try
        true = is_integer(schedstat_ns(Pid)),
        fun() -> schedstat_ns(Pid) end
    catch
        _:_ ->
            Tick = clock_ticks_per_s(),
            fun() -> stat_ticks(Pid) * 1000000000 div Tick end
    end.

schedstat_ns(Pid) ->
    Dir = "/proc/" ++ Pid ++ "/task/",
    {ok, Tids} = file:list_dir(Dir),
    lists:sum([begin
                   {ok, B} = file:read_file(Dir ++ Tid ++ "/schedstat"),
                   [OnCpu | _] = string:lexemes(binary_to_list(B), " \n"),
                   list_to_integer(OnCpu)
               end || Tid <- Tids]).

%% utime + stime in clock ticks (/proc/PID/stat, fields 14 and 15; the
%% command name in field 2 may hold spaces).
stat_ticks(Pid) ->
    {ok, Stat} = file:read_file("/proc/" ++ Pid ++ "/stat"),
    [_PidComm, AfterComm] = string:split(binary_to_list(Stat), ")", trailing),
    Fields = string:lexemes(AfterComm, " \n"),   % field 3 (state) first
    list_to_integer(lists:nth(14 - 2, Fields)) + list_to_integer(lists:nth(15 - 2, Fields)).

clock_ticks_per_s() ->
    try list_to_integer(string:trim(os:cmd("getconf CLK_TCK")))
    catch error:badarg -> 100
    end.
