%% SPDX-License-Identifier: GPL-2.0-or-later
%%%----------------------------------------------------------------------
%%% mod_rest_sampler: the recent past of this node's figures, for the web admin page's
%%% sparklines and its "last 10 minutes" latency. The counters of mod_rest_metrics only ever
%%% grow; this process reads their totals every ?INTERVAL and keeps the last ?KEEP readings in a
%%% ring (a bounded queue: a few kilobytes, whatever the traffic). One per node, beside the port
%%% owner, under ejabberd's gen_mod supervisor; started by the first vhost, stopped by the last.
%%%----------------------------------------------------------------------
-module(mod_rest_sampler).
-behaviour(gen_server).

-export([ensure_started/0, stop/0, readings/0, interval/0]).
-export([start_link/0, init/1, handle_call/3, handle_cast/2, handle_info/2]).

%% Ten-second samples over ten minutes: the span an operator looks back on after an alert.
-define(INTERVAL, 10000).
-define(KEEP, 61).                     % 61 readings make 60 intervals
%% The page must render even when this process is busy or gone.
-define(CALL_TIMEOUT, 2000).

-type reading() :: {integer(), map()}.   % {monotonic ms, mod_rest_metrics:totals()}
-export_type([reading/0]).

%%%===================================================================
%%% API
%%%===================================================================
-spec ensure_started() -> ok | {error, term()}.
ensure_started() -> mod_rest_singleton:ensure_started(?MODULE, 1000).

-spec stop() -> ok.
stop() -> mod_rest_singleton:stop(?MODULE).

%% The kept readings, oldest first, then one taken now: the last interval is the one in
%% progress, so that a page shows the present even right after start. [] if the sampler is down.
-spec readings() -> [reading()].
readings() ->
    try gen_server:call(?MODULE, readings, ?CALL_TIMEOUT)
    catch exit:_ -> []
    end ++ [reading()].

%% Milliseconds between two readings.
-spec interval() -> pos_integer().
interval() -> ?INTERVAL.

%%%===================================================================
%%% gen_server
%%%===================================================================
-spec start_link() -> {ok, pid()} | {error, term()}.
start_link() ->
    gen_server:start_link({local, ?MODULE}, ?MODULE, [], []).

init([]) ->
    erlang:send_after(?INTERVAL, self(), sample),
    {ok, queue:from_list([reading()])}.

handle_call(readings, _From, Ring) ->
    {reply, queue:to_list(Ring), Ring};
handle_call(_Request, _From, Ring) ->
    {reply, {error, badarg}, Ring}.

handle_cast(_Msg, Ring) ->
    {noreply, Ring}.

handle_info(sample, Ring) ->
    erlang:send_after(?INTERVAL, self(), sample),
    Ring1 = queue:in(reading(), Ring),
    {noreply, case queue:len(Ring1) > ?KEEP of
                  true -> queue:drop(Ring1);
                  false -> Ring1
              end};
handle_info(_Info, Ring) ->
    {noreply, Ring}.

reading() ->
    {erlang:monotonic_time(millisecond), mod_rest_metrics:totals()}.
