%% bench/peers/erlang/bench_savina.erl — Savina benchmarks 1-7 (Imam &
%% Sarkar 2014) as plain Erlang processes.
%%
%% Sizes at scale 1 (TROUPE_BENCH_SCALE multiplies each; a floor keeps tiny
%% scales meaningful). Against Savina's defaults:
%%   ping_pong             1,000,000 round trips    (Savina: 40,000; larger)
%%   counting              1,000,000 increments     (Savina's default)
%%   fork_join_throughput  60 workers x 10,000 msgs (Savina's default)
%%   fork_join_create      40,000 processes         (Savina's default)
%%   thread_ring           100 processes, 1,000,000 hops (Savina: 100,000; larger)
%%   chameneos             100 creatures, 200,000 meetings (Savina's default)
%%   big                   120 workers x 2,000 pings (Savina: 20,000; scaled
%%                         down 10x to keep the whole run short)
-module(bench_savina).

-export([ping_pong/1, counting/1, fork_join_throughput/1, fork_join_create/1,
         thread_ring/1, chameneos/1, big/1]).

-include("bench.hrl").

-import(bench_main, [scaled/3, now_ns/0, secs/1, check/2]).

%% ---- 1. ping_pong: round trips between two processes -------------------------

ping_pong(Scale) ->
    N = scaled(1000000, Scale, 1000),
    Pong = spawn_link(fun() -> pong(0) end),
    T0 = now_ns(),
    ping(Pong, N),
    T1 = now_ns(),
    Pong ! {count, self()},
    Pongs = ?WAIT({pongs, C}, C),
    check(Pongs =:= N, {pings_answered, Pongs, sent, N}),
    [{ping_pong, round_trip, (T1 - T0) / N, ns}].

ping(_Pong, 0) ->
    ok;
ping(Pong, K) ->
    Pong ! {ping, self()},
    receive
        pong -> ping(Pong, K - 1)
    end.

pong(Count) ->
    receive
        {ping, From} ->
            From ! pong,
            pong(Count + 1);
        {count, From} ->
            From ! {pongs, Count}
    end.

%% ---- 2. counting: one producer, one counter, then ask the total ---------------

counting(Scale) ->
    N = scaled(1000000, Scale, 1000),
    Counter = spawn_link(fun() -> counter(0) end),
    T0 = now_ns(),
    increment(Counter, N),
    Counter ! {total, self()},
    Total = ?WAIT({total, T}, T),
    T1 = now_ns(),
    check(Total =:= N, {counted, Total, sent, N}),
    [{counting, throughput, N / secs(T1 - T0), 'msg/s'}].

increment(_Counter, 0) ->
    ok;
increment(Counter, K) ->
    Counter ! increment,
    increment(Counter, K - 1).

counter(Count) ->
    receive
        increment -> counter(Count + 1);
        {total, From} -> From ! {total, Count}
    end.

%% ---- 3. fork_join_throughput: one sender, 60 workers, a little float work ------

-define(FJ_WORKERS, 60).

fork_join_throughput(Scale) ->
    N = scaled(10000, Scale, 100),
    Self = self(),
    Workers = [spawn_link(fun() -> fj_worker(Self, N, 0, 0.0) end)
               || _ <- lists:seq(1, ?FJ_WORKERS)],
    T0 = now_ns(),
    fj_send(Workers, 1, N),
    Done = [?WAIT({fj_done, W, Count, Acc}, {Count, Acc}) || W <- Workers],
    T1 = now_ns(),
    %% Every worker did the same computations in the same order: the same sum.
    Expected = lists:foldl(fun(I, A) -> A + work(I) end, 0.0, lists:seq(1, N)),
    [check(D =:= {N, Expected}, {worker_result, D, expected, {N, Expected}}) || D <- Done],
    [{fork_join_throughput, throughput, ?FJ_WORKERS * N / secs(T1 - T0), 'msg/s'}].

%% Savina's order: message i goes to every worker before message i + 1.
fj_send(_Workers, I, N) when I > N ->
    ok;
fj_send(Workers, I, N) ->
    [W ! {work, I} || W <- Workers],
    fj_send(Workers, I + 1, N).

fj_worker(Main, N, N, Acc) ->
    Main ! {fj_done, self(), N, Acc};
fj_worker(Main, N, Count, Acc) ->
    receive
        {work, I} -> fj_worker(Main, N, Count + 1, Acc + work(I))
    end.

%% Savina's performComputation: the square of a sine.
work(I) ->
    S = math:sin(I * 0.1),
    S * S.

%% ---- 4. fork_join_create: spawn, one message, done, exit -----------------------

fork_join_create(Scale) ->
    N = scaled(40000, Scale, 1000),
    Self = self(),
    T0 = now_ns(),
    fjc_spawn(Self, N),
    {Count, Sum} = fjc_collect(N, 0, 0),
    T1 = now_ns(),
    check({Count, Sum} =:= {N, N * (N + 1) div 2}, {done, Count, sum, Sum}),
    [{fork_join_create, rate, N / secs(T1 - T0), 'actors/s'}].

fjc_spawn(_Main, 0) ->
    ok;
fjc_spawn(Main, I) ->
    Pid = spawn(fun() -> fjc_worker(Main) end),
    Pid ! {work, I},
    fjc_spawn(Main, I - 1).

fjc_worker(Main) ->
    receive
        {work, I} ->
            true = work(I) >= 0.0,
            Main ! {fjc_done, I}
    end.

fjc_collect(0, Count, Sum) ->
    {Count, Sum};
fjc_collect(K, Count, Sum) ->
    receive
        {fjc_done, I} -> fjc_collect(K - 1, Count + 1, Sum + I)
    end.

%% ---- 5. thread_ring: a token around 100 processes -------------------------------

-define(RING, 100).

thread_ring(Scale) ->
    Hops = scaled(1000000, Scale, 1000),
    Self = self(),
    Nodes = [spawn_link(fun() -> ring_start(Self) end) || _ <- lists:seq(1, ?RING)],
    [Node ! {next, Next} || {Node, Next} <- lists:zip(Nodes, tl(Nodes) ++ [hd(Nodes)])],
    T0 = now_ns(),
    hd(Nodes) ! {token, Hops},
    Last = ?WAIT({ring_done, P}, P),
    T1 = now_ns(),
    [Node ! {count, Self} || Node <- Nodes],
    Seen = lists:sum([?WAIT({ring_count, Node, C}, C) || Node <- Nodes]),
    %% Hop k hands the token to node (k mod 100) + 1; every node counts what
    %% it received: the Hops passes and the first hand-over.
    check(Last =:= lists:nth(Hops rem ?RING + 1, Nodes), {token_ended_at_wrong_node, Hops}),
    check(Seen =:= Hops + 1, {tokens_seen, Seen, expected, Hops + 1}),
    [{thread_ring, hop, (T1 - T0) / Hops, ns}].

ring_start(Main) ->
    receive
        {next, Next} -> ring_node(Main, Next, 0)
    end.

ring_node(Main, Next, Seen) ->
    receive
        {token, 0} ->
            Main ! {ring_done, self()},
            ring_node(Main, Next, Seen + 1);
        {token, K} ->
            Next ! {token, K - 1},
            ring_node(Main, Next, Seen + 1);
        {count, From} ->
            From ! {ring_count, self(), Seen}
    end.

%% ---- 6. chameneos: creatures meet in a mall and change colour --------------------
%%
%% A creature asks the mall for a meeting with its colour. The mall keeps the
%% first of a pair waiting; when the second arrives it tells the waiting one
%% who its partner is, and counts a meeting. The waiting one computes the
%% new colour, tells its partner, and both go back to the mall. Once the
%% meetings are used up, the mall sends each arriving creature away; a
%% creature leaves with the number of meetings it had.

-define(CREATURES, 100).

chameneos(Scale) ->
    Meetings = scaled(200000, Scale, 1000),
    Self = self(),
    T0 = now_ns(),
    Mall = spawn_link(fun() -> mall(Self, Meetings, none, 0, 0) end),
    Colours = {blue, red, yellow},
    [spawn_link(fun() -> creature(Mall, element(I rem 3 + 1, Colours), 0) end)
     || I <- lists:seq(1, ?CREATURES)],
    {Left, Sum} = ?WAIT({mall_closed, L, S}, {L, S}),
    T1 = now_ns(),
    %% Each meeting counts once for each of its two creatures.
    check({Left, Sum} =:= {?CREATURES, 2 * Meetings},
          {creatures_left, Left, meetings_counted, Sum, expected, 2 * Meetings}),
    [{chameneos, throughput, Meetings / secs(T1 - T0), 'meetings/s'}].

mall(Main, 0, none, Left, Sum) when Left =:= ?CREATURES ->
    Main ! {mall_closed, Left, Sum};
mall(Main, Remaining, Waiting, Left, Sum) ->
    receive
        {meet, Creature, _Colour} when Remaining =:= 0 ->
            Creature ! leave,
            mall(Main, 0, Waiting, Left, Sum);
        {meet, Creature, Colour} when Waiting =:= none ->
            mall(Main, Remaining, {Creature, Colour}, Left, Sum);
        {meet, Creature, Colour} ->
            {Other, _} = Waiting,
            Other ! {partner, Creature, Colour},
            mall(Main, Remaining - 1, none, Left, Sum);
        {left, Met} ->
            mall(Main, Remaining, Waiting, Left + 1, Sum + Met)
    end.

creature(Mall, Colour, Met) ->
    Mall ! {meet, self(), Colour},
    receive
        {partner, Partner, PartnerColour} ->
            New = complement(Colour, PartnerColour),
            Partner ! {colour, New},
            creature(Mall, New, Met + 1);
        {colour, New} ->
            creature(Mall, New, Met + 1);
        leave ->
            Mall ! {left, Met}
    end.

complement(C, C) -> C;
complement(blue, red) -> yellow;
complement(blue, yellow) -> red;
complement(red, blue) -> yellow;
complement(red, yellow) -> blue;
complement(yellow, blue) -> red;
complement(yellow, red) -> blue.

%% ---- 7. big: 120 workers ping random peers, one ping in flight each -------------

-define(BIG_WORKERS, 120).

big(Scale) ->
    N = scaled(2000, Scale, 50),
    Self = self(),
    Workers = [spawn_link(fun() -> big_start(Self, Id) end)
               || Id <- lists:seq(1, ?BIG_WORKERS)],
    Peers = list_to_tuple(Workers),
    T0 = now_ns(),
    [W ! {peers, Peers, N} || W <- Workers],
    [?WAIT({big_done, W}, ok) || W <- Workers],
    T1 = now_ns(),
    %% All pongs are in, so no ping is in flight: the answers are final.
    [W ! {report, Self} || W <- Workers],
    Answered = lists:sum([?WAIT({big_answered, W, A}, A) || W <- Workers]),
    check(Answered =:= ?BIG_WORKERS * N,
          {pings_answered, Answered, sent, ?BIG_WORKERS * N}),
    [{big, throughput, 2 * ?BIG_WORKERS * N / secs(T1 - T0), 'msg/s'}].

big_start(Main, Id) ->
    %% Pings from workers that started first wait in the mailbox meanwhile.
    receive
        {peers, Peers, N} ->
            Rng = big_ping(Peers, Id, Id * 7919),
            big_loop(Main, Peers, Id, N - 1, 0, Rng)
    end.

big_loop(Main, Peers, Id, ToSend, Answered, Rng) ->
    receive
        {ping, From} ->
            From ! pong,
            big_loop(Main, Peers, Id, ToSend, Answered + 1, Rng);
        pong when ToSend =:= 0 ->
            Main ! {big_done, self()},
            big_loop(Main, Peers, Id, done, Answered, Rng);
        pong when is_integer(ToSend) ->
            Rng1 = big_ping(Peers, Id, Rng),
            big_loop(Main, Peers, Id, ToSend - 1, Answered, Rng1);
        {report, From} when ToSend =:= done ->
            From ! {big_answered, self(), Answered}
    end.

%% Ping a random peer other than ourselves; a small LCG picks it.
big_ping(Peers, Id, Rng) ->
    Rng1 = (Rng * 1103515245 + 12345) band 16#7fffffff,
    Pick = Rng1 rem (?BIG_WORKERS - 1) + 1,
    To = if Pick >= Id -> Pick + 1; true -> Pick end,
    element(To, Peers) ! {ping, self()},
    Rng1.
