%% bench/peers/erlang/bench_sup.erl — the supervisor of the OTP workloads:
%% the strategy and children are given; the intensity is high enough that
%% the injected crashes never make it give up.
-module(bench_sup).
-behaviour(supervisor).

-export([start_link/2, init/1]).

start_link(Strategy, ChildSpecs) ->
    supervisor:start_link(?MODULE, {Strategy, ChildSpecs}).

init({Strategy, ChildSpecs}) ->
    {ok, {#{strategy => Strategy, intensity => 1000000, period => 1}, ChildSpecs}}.
