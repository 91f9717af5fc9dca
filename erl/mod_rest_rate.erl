%% SPDX-License-Identifier: GPL-2.0-or-later
%%%----------------------------------------------------------------------
%%% mod_rest_rate: the per-client-IP request limit (option rate_limit_per_ip), and the count
%%% of credential checks (option max_auth_failures).
%%%
%%% A fixed one-second window per IP, counted with ets:update_counter/4 from the HTTP
%%% processes themselves, so it costs one ETS operation a request and no process hop.
%%% mod_rest_port owns the table and sweeps past windows, which bounds its size by the
%%% number of distinct peers in the last two seconds.
%%%----------------------------------------------------------------------
-module(mod_rest_rate).

-export([new/0, check/3, sweep/1, auth_attempt/3, auth_done/2, auth_blocked/3, auth_client/1]).

%% Failed --auth attempts are counted per minute.
-define(AUTH_WINDOW_MS, 60000).

-define(TABLE, mod_rest_rate).

%% One credential check under way (see auth_attempt/3).
-type attempt() :: {{auth, inet:ip_address()}, integer()} | untracked.
-export_type([attempt/0]).

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

%% Credential checks (--auth, Basic, Bearer) are counted per client, a minute at a time, in
%% one row {Key, Failed, Checking}: the failures of the minute and the checks under way. An
%% attempt is counted (Checking + 1, in one ets:update_counter/4) BEFORE its password is
%% checked, and admitted only while Failed + Checking stays within the limit: so however many
%% arrive at once, at most the limit are checked (security issue 2, item 5). A right password
%% gives its place back; a wrong one turns it into a failure. An attempt that finds every
%% place taken by checks under way waits for them (?AUTH_WAIT_MS at a time, at most
%% ?AUTH_WAITS times): concurrent requests with the right password are served, not refused.
-define(AUTH_WAIT_MS, 10).
-define(AUTH_WAITS, 200).

%% Counts one attempt from IP at NowMs; blocked once the minute's failures, with the checks
%% under way, reach Limit.
-spec auth_attempt(inet:ip_address(), pos_integer(), integer()) -> {ok, attempt()} | blocked.
auth_attempt(IP, Limit, NowMs) ->
    attempt(auth_key(IP, NowMs), Limit, ?AUTH_WAITS).

attempt(Key, Limit, WaitsLeft) ->
    try ets:update_counter(?TABLE, Key, [{2, 0}, {3, 1}], {Key, 0, 0}) of
        [Failed, Checking] when Failed + Checking =< Limit -> {ok, Key};
        [Failed, _] ->
            ets:update_counter(?TABLE, Key, {3, -1}),
            case Failed >= Limit orelse WaitsLeft == 0 of
                true -> blocked;
                false ->
                    timer:sleep(?AUTH_WAIT_MS),
                    attempt(Key, Limit, WaitsLeft - 1)
            end
    catch error:badarg -> {ok, untracked}    % no table (owner restarting): do not refuse for that
    end.

%% The attempt's check is over: a failure is kept for the rest of the minute, a success
%% gives its place back.
-spec auth_done(attempt(), ok | failed) -> ok.
auth_done(untracked, _Outcome) -> ok;
auth_done(Key, Outcome) ->
    Ops = case Outcome of
              ok -> [{3, -1}];
              failed -> [{2, 1}, {3, -1}]
          end,
    try ets:update_counter(?TABLE, Key, Ops), ok
    catch error:badarg -> ok    % swept at the end of its minute, or no table
    end.

%% Whether IP has used up its failed attempts of this minute (nothing counted).
-spec auth_blocked(inet:ip_address(), pos_integer(), integer()) -> boolean().
auth_blocked(IP, Limit, NowMs) ->
    try ets:lookup(?TABLE, auth_key(IP, NowMs)) of
        [{_, Failed, _}] -> Failed >= Limit;
        [] -> false
    catch error:badarg -> false
    end.

%% The key ends with the second the window closes, so that sweep/1 drops it then, as it
%% drops request windows.
auth_key(IP, NowMs) ->
    {{auth, auth_client(IP)}, (NowMs div ?AUTH_WINDOW_MS + 1) * (?AUTH_WINDOW_MS div 1000)}.

%% Whom failures are counted for (security issue 2, item 15): an IPv4-mapped IPv6 address is
%% its IPv4 client; an IPv6 client is its /64, the smallest network a site is given (RFC
%% 6177), within which it picks addresses at will.
-spec auth_client(inet:ip_address()) -> inet:ip_address().
auth_client({0, 0, 0, 0, 0, 16#ffff, AB, CD}) ->
    {AB bsr 8, AB band 255, CD bsr 8, CD band 255};
auth_client({A, B, C, D, _, _, _, _}) ->
    {A, B, C, D, 0, 0, 0, 0};
auth_client(IPv4) ->
    IPv4.

%% Drops the windows that ended before the current one.
-spec sweep(integer()) -> non_neg_integer().
sweep(NowMs) ->
    Current = NowMs div 1000,
    ets:select_delete(?TABLE, [{{{'_', '$1'}, '_'}, [{'<', '$1', Current}], [true]},
                               {{{'_', '$1'}, '_', '_'}, [{'<', '$1', Current}], [true]}]).
