%% bench/peers/erlang/bench_group.erl — troupe's bench/group.c on Erlang/OTP:
%%
%%   group_publish_1000  1,000 processes join one pg group; the main process
%%                       publishes 2,000 messages, each a send loop over
%%                       pg:get_members/1 (what pg offers for a publish);
%%                       deliveries handled per second, from the first
%%                       publish to the last member's last message.
-module(bench_group).

-export([publish/1]).

-include("bench.hrl").

-import(bench_main, [scaled/3, now_ns/0, secs/1, check/2]).

-define(MEMBERS, 1000).

publish(Scale) ->
    Rounds = scaled(2000, Scale, 20),
    {ok, _} = pg:start_link(),
    Self = self(),
    Pids = [spawn_link(fun() -> ok = pg:join(bench, self()), Self ! joined, member(Self, Rounds, 0) end)
            || _ <- lists:seq(1, ?MEMBERS)],
    [?WAIT(joined, ok) || _ <- Pids],
    check(length(pg:get_members(bench)) =:= ?MEMBERS, {members, length(pg:get_members(bench))}),
    T0 = now_ns(),
    publish_loop(Rounds, 0),
    [?WAIT({member_done, Rounds}, ok) || _ <- Pids],
    T1 = now_ns(),
    [{group_publish_1000, throughput, Rounds * ?MEMBERS / secs(T1 - T0), 'msg/s'}].

publish_loop(Rounds, Rounds) ->
    ok;
publish_loop(Rounds, I) ->
    [P ! {pub, I} || P <- pg:get_members(bench)],
    publish_loop(Rounds, I + 1).

member(Main, Rounds, Rounds) ->
    Main ! {member_done, Rounds},
    receive stop -> ok end;
member(Main, Rounds, N) ->
    receive
        {pub, _} -> member(Main, Rounds, N + 1)
    end.
