%% SPDX-License-Identifier: GPL-2.0-or-later
%%%----------------------------------------------------------------------
%%% mod_rest_rate: the per-client-IP request limit (option rate_limit_per_ip).
%%%
%%% A fixed one-second window per IP, counted with ets:update_counter/4 from the HTTP
%%% processes themselves, so it costs one ETS operation a request and no process hop.
%%% mod_rest_port owns the table and sweeps past windows, which bounds its size by the
%%% number of distinct peers in the last two seconds.
%%%----------------------------------------------------------------------
-module(mod_rest_rate).

-export([new/0, check/3, sweep/1, auth_failed/2, auth_blocked/3]).

%% Failed --auth attempts are counted per minute.
-define(AUTH_WINDOW_MS, 60000).

-define(TABLE, mod_rest_rate).

-spec new() -> ok.
new() ->
    ets:new(?TABLE, [named_table, public, set, {write_concurrency, true}]),
    ok.

%% Counts one request from IP at time NowMs; limited once the window holds more than Limit.
-spec check(inet:ip_address(), unlimited | pos_integer(), integer()) -> ok | limited.
check(_IP, unlimited, _NowMs) ->
    ok;
check(IP, Limit, NowMs) ->
    Key = {IP, NowMs div 1000},
    try ets:update_counter(?TABLE, Key, 1, {Key, 0}) of
        N when N > Limit -> limited;
        _ -> ok
    catch error:badarg -> ok    % no table (owner restarting): do not refuse for that
    end.

%% Counts a failed --auth attempt from IP. The key ends with the second the window closes,
%% so that sweep/1 drops it then, as it drops request windows.
-spec auth_failed(inet:ip_address(), integer()) -> ok.
auth_failed(IP, NowMs) ->
    Key = auth_key(IP, NowMs),
    try ets:update_counter(?TABLE, Key, 1, {Key, 0}), ok
    catch error:badarg -> ok
    end.

%% Whether IP has used up its failed attempts of this minute.
-spec auth_blocked(inet:ip_address(), pos_integer(), integer()) -> boolean().
auth_blocked(IP, Limit, NowMs) ->
    try ets:lookup(?TABLE, auth_key(IP, NowMs)) of
        [{_, N}] -> N >= Limit;
        [] -> false
    catch error:badarg -> false
    end.

auth_key(IP, NowMs) ->
    {{auth, IP}, (NowMs div ?AUTH_WINDOW_MS + 1) * (?AUTH_WINDOW_MS div 1000)}.

%% Drops the windows that ended before the current one.
-spec sweep(integer()) -> non_neg_integer().
sweep(NowMs) ->
    Current = NowMs div 1000,
    ets:select_delete(?TABLE, [{{{'_', '$1'}, '_'}, [{'<', '$1', Current}], [true]}]).
