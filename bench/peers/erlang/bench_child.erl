%% bench/peers/erlang/bench_child.erl — the gen_server the OTP workloads
%% supervise and call: answers `ping` with its pid, counts the calls, and
%% crashes when cast `crash`. Its init reports itself: an ets counter
%% (restart_cycle) and/or a message to a watcher (one_for_all_1000).
-module(bench_child).
-behaviour(gen_server).

-export([start_link/1, start_link/2]).
-export([init/1, handle_call/3, handle_cast/2]).

start_link(Opts) ->
    gen_server:start_link(?MODULE, Opts, []).

start_link(Name, Opts) ->
    gen_server:start_link(Name, ?MODULE, Opts, []).

init(Opts) ->
    case Opts of
        #{counter := Tab} -> ets:update_counter(Tab, inits, 1);
        #{} -> ok
    end,
    case Opts of
        #{watcher := Watcher, id := Id} -> Watcher ! {child_init, Id};
        #{} -> ok
    end,
    {ok, 0}.

handle_call(ping, _From, Calls) ->
    {reply, {pong, self()}, Calls + 1};
handle_call(calls, _From, Calls) ->
    {reply, Calls, Calls}.

handle_cast(crash, _Calls) ->
    erlang:error(injected_crash).
