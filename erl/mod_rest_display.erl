%% SPDX-License-Identifier: GPL-2.0-or-later
%%%----------------------------------------------------------------------
%%% mod_rest_display: figures and options as an operator reads them, for the web admin page.
%%% Pure functions (EUnit-tested in test/erl/mod_rest_display_tests.erl):
%%%   - option values as they would be written in ejabberd.yml, with their unit: a timeout is
%%%     `5 seconds` (ejabberd stores milliseconds, but a bare integer in ejabberd.yml means
%%%     seconds, so a bare `5000` would mislead), a size `1000 bytes`, a bound `256 elements`;
%%%   - secrets never shown: a value under a secret-like key is `(set, hidden)`; a URL loses its
%%%     user info, its query values, its fragment and any long path segment (a token's place);
%%%   - latencies (microseconds) and rates for people;
%%%   - a sparkline as inline SVG (no script): a step line of per-interval rates.
%%%----------------------------------------------------------------------
-module(mod_rest_display).

-export([option/2, duration/1, mask_url/1, latency/1, rate/1, rates/1, sparkline/2]).

-define(HIDDEN, <<"(set, hidden)">>).
-define(MASK, <<"***">>).
%% Path segments this long are masked: where a webhook URL carries its token
%% (https://hooks.example/services/T0/B0/XXXXXXXXXXXXXXXXXXXXXXXX).
-define(MAX_SHOWN_SEGMENT, 16).
%% The sparkline's box, in CSS pixels, and the span it shows (ten minutes), in milliseconds.
-define(SPARK_W, 300).
-define(SPARK_H, 40).
-define(SPARK_SPAN, 600000).

%%%===================================================================
%%% Option values
%%%===================================================================
%% One option's value (as gen_mod stores it) as text, with its unit, secrets hidden.
-spec option(atom(), term()) -> binary().
option(Key, V) ->
    iolist_to_binary(value(Key, V)).

value(_Key, none) -> <<"none">>;
value(Key, V) when is_binary(V) ->
    case {secret_key(Key), Key} of
        {true, _} -> ?HIDDEN;
        {false, url} -> mask_url(V);
        _ -> V
    end;
value(Key, V) when is_integer(V) ->
    case secret_key(Key) of
        true -> ?HIDDEN;
        false -> with_unit(unit(Key), V)
    end;
value(_Key, V) when is_atom(V) -> atom_to_binary(V, utf8);
value(_Key, M) when is_map(M) ->
    ["{", lists:join(", ", [[atom_to_binary(K, utf8), ": ", value(K, X)]
                           || {K, X} <- lists:sort(maps:to_list(M)), is_atom(K)]), "}"];
value(Key, V) when is_list(V) ->
    ["[", lists:join(", ", [value(Key, X) || X <- V]), "]"];
value(_Key, {IP, Bits}) when is_tuple(IP), is_integer(Bits) ->
    try [inet:ntoa(IP), $/, integer_to_binary(Bits)]
    catch _:_ -> term(IP)
    end;
value(_Key, {K, V}) when is_atom(K) -> [atom_to_binary(K, utf8), ": ", value(K, V)];
value(_Key, V) ->
    try jid:encode(V)
    catch _:_ -> term(V)
    end.

term(V) -> io_lib:format("~0p", [V]).

%% Keys whose values are credentials, here or in options other modules may add.
%% A name ending in `key` is one (`api_key`); `idempotency_key_lifetime` is not.
secret_key(Key) ->
    Name = atom_to_binary(Key, utf8),
    lists:any(fun(Word) -> binary:match(Name, Word) /= nomatch end,
              [<<"secret">>, <<"password">>, <<"token">>])
        orelse binary:longest_common_suffix([Name, <<"key">>]) == 3.

%% The unit of an integer option (and of a webhook's sub-options). A timeout is stored in
%% milliseconds by econf:timeout/1 whatever unit its default reads in.
unit(Key) ->
    case Key of
        iq_timeout -> duration;
        iq_max_timeout -> duration;
        request_timeout -> duration;
        health_timeout -> duration;
        timeout -> duration;                   % a webhook's
        retry_delay -> duration;               % a webhook's
        max_body_size -> bytes;
        max_stanza_size -> bytes;
        max_xml_elements -> <<"elements">>;
        max_xml_depth -> <<"levels of nesting">>;
        max_command_args -> <<"arguments">>;
        api_max_batch_items -> <<"stanzas a request">>;
        max_in_flight -> <<"requests at once, node-wide">>;
        max_auth_failures -> <<"failed attempts a minute, per client (IPv4 address or IPv6 /64)">>;
        max_iq_waits -> <<"iq waits at once, node-wide">>;
        max_iq_waits_per_account -> <<"iq waits at once, per account">>;
        idempotency_key_lifetime -> duration;
        idempotency_max_bytes -> bytes;
        idempotency_max_keys -> <<"keys, per vhost">>;
        rate_limit_per_ip -> <<"requests a second, per client IP">>;
        queue_size -> <<"stanzas">>;           % a webhook's
        concurrency -> <<"calls at once">>;    % a webhook's
        retries -> <<"retries">>;              % a webhook's
        _ -> guess_unit(atom_to_binary(Key, utf8))
    end.

%% Options added later follow the naming of the ones above.
guess_unit(Name) ->
    case {binary:longest_common_suffix([Name, <<"_timeout">>]), binary:longest_common_suffix([Name, <<"_size">>])} of
        {8, _} -> duration;
        {_, 5} -> bytes;
        _ -> none
    end.

with_unit(duration, Ms) -> duration(Ms);
with_unit(bytes, 1) -> <<"1 byte">>;
with_unit(bytes, N) when N >= 1024 -> [integer_to_binary(N), " bytes (", binary_size(N), ")"];
with_unit(bytes, N) -> [integer_to_binary(N), " bytes"];
with_unit(none, N) -> integer_to_binary(N);
with_unit(Unit, N) -> [integer_to_binary(N), " ", Unit].

binary_size(N) ->
    {Value, Unit} = if N >= 1 bsl 30 -> {N / (1 bsl 30), "GiB"};
                       N >= 1 bsl 20 -> {N / (1 bsl 20), "MiB"};
                       true -> {N / 1024, "KiB"}
                    end,
    [number(Value), " ", Unit].

%% Milliseconds as ejabberd.yml accepts a timeout: `5 seconds`, `1 second`, `250 ms`.
-spec duration(non_neg_integer()) -> binary().
duration(1000) -> <<"1 second">>;
duration(Ms) when Ms rem 1000 == 0 -> <<(integer_to_binary(Ms div 1000))/binary, " seconds">>;
duration(Ms) -> <<(integer_to_binary(Ms))/binary, " ms">>.

%% A URL as the page may show it: its user info, query values, fragment and long path segments
%% replaced by ***; the scheme, host, port, short segments, query names and {placeholders} kept.
-spec mask_url(binary()) -> binary().
mask_url(Url) ->
    case re:run(Url, <<"^([a-zA-Z][a-zA-Z0-9+.-]*://)([^/?#@]*@)?([^/?#]*)([^?#]*)(\\?[^#]*)?(#.*)?$">>,
                [{capture, all_but_first, binary}]) of
        {match, [Scheme | Rest]} ->
            [UserInfo, Authority, Path, Query, Fragment] = Rest ++ lists:duplicate(5 - length(Rest), <<>>),
            iolist_to_binary([Scheme, case UserInfo of <<>> -> []; _ -> [?MASK, $@] end,
                              Authority, mask_path(Path), mask_query(Query),
                              case Fragment of <<>> -> []; _ -> [$#, ?MASK] end]);
        nomatch -> <<"(not shown: not a URL)">>
    end.

mask_path(Path) ->
    lists:join($/, [case byte_size(S) > ?MAX_SHOWN_SEGMENT of
                        true -> ?MASK;
                        false -> S
                    end || S <- binary:split(Path, <<"/">>, [global])]).

mask_query(<<>>) -> [];
mask_query(<<"?", Query/binary>>) ->
    [$?, lists:join($&, [case binary:split(P, <<"=">>) of
                             [Name, _] -> [Name, $=, ?MASK];
                             [_] -> ?MASK
                         end || P <- binary:split(Query, <<"&">>, [global])])].

%%%===================================================================
%%% Figures
%%%===================================================================
%% A latency (microseconds, or a quantile of mod_rest_metrics:quantile/2) for people.
-spec latency(float() | integer() | {ok, number()} | {above, pos_integer()} | none) -> binary().
latency(none) -> <<"-">>;
latency({ok, Us}) -> latency(Us);
latency({above, Us}) -> <<"> ", (latency(Us))/binary>>;
latency(Us) when Us < 1000000 -> iolist_to_binary([number(Us / 1000), " ms"]);
latency(Us) -> iolist_to_binary([number(Us / 1000000), " s"]).

%% A rate (per second) for people.
-spec rate(number()) -> binary().
rate(R) -> iolist_to_binary([number(R), "/s"]).

%% Three significant figures at most, no trailing zeros.
number(X) when X >= 100 -> integer_to_binary(round(X));
number(X) when X >= 10 -> trim(float_to_binary(X, [{decimals, 1}]));
number(X) -> trim(float_to_binary(float(X), [{decimals, 2}])).

trim(B) ->
    case binary:split(B, <<".">>) of
        [I, D] ->
            case string:trim(D, trailing, "0") of
                <<>> -> I;
                D1 -> <<I/binary, ".", D1/binary>>
            end;
        [I] -> I
    end.

%% The per-second rates between consecutive readings ({Time ms, Count}), as
%% {IntervalStart, IntervalEnd, Rate}: the counters' increase divided by the time it took.
-spec rates([{integer(), non_neg_integer()}]) -> [{integer(), integer(), float()}].
rates([]) -> [];
rates(Readings) ->
    [{T1, T2, (N2 - N1) * 1000 / max(1, T2 - T1)}
     || {{T1, N1}, {T2, N2}} <- lists:zip(lists:droplast(Readings), tl(Readings))].

%% A sparkline: each interval of rates/1 as a step, over the last ten minutes up to Now (or
%% since the first reading, if more recent), scaled to the highest rate. Inline SVG (an #xmlel{}), readable with no script and no style.
-spec sparkline([{integer(), integer(), float()}], integer()) -> tuple().
sparkline(Rates, Now) ->
    Peak = lists:max([0.0 | [R || {_, _, R} <- Rates]]),
    %% Ten minutes wide, or as wide as the readings go back (a node that just started): the
    %% line always spans the box.
    Span = case Rates of
               [{First, _, _} | _] -> min(?SPARK_SPAN, max(1, Now - First));
               [] -> ?SPARK_SPAN
           end,
    X = fun(T) -> fmt(?SPARK_W * max(0, Span - (Now - T)) / Span) end,
    Y = fun(R) -> fmt((?SPARK_H - 1) - (?SPARK_H - 2) * R / max(Peak, 1.0e-9)) end,
    Points = lists:append([[[X(T1), $,, Y(R)], [X(T2), $,, Y(R)]]
                           || {T1, T2, R} <- Rates, Now - T2 < Span]),
    {xmlel, <<"svg">>,
     [{<<"xmlns">>, <<"http://www.w3.org/2000/svg">>}, {<<"class">>, <<"mod-rest-sparkline">>},
      {<<"width">>, integer_to_binary(?SPARK_W)}, {<<"height">>, integer_to_binary(?SPARK_H)},
      {<<"viewBox">>, iolist_to_binary(["0 0 ", integer_to_binary(?SPARK_W), " ", integer_to_binary(?SPARK_H)])},
      {<<"role">>, <<"img">>}],
     [{xmlel, <<"rect">>, [{<<"x">>, <<"0">>}, {<<"y">>, <<"0">>}, {<<"width">>, integer_to_binary(?SPARK_W)},
                           {<<"height">>, integer_to_binary(?SPARK_H)}, {<<"fill">>, <<"#f4f4f4">>},
                           {<<"stroke">>, <<"#cccccc">>}], []},
      {xmlel, <<"polyline">>, [{<<"fill">>, <<"none">>}, {<<"stroke">>, <<"#1f6fb2">>},
                               {<<"stroke-width">>, <<"1.5">>},
                               {<<"points">>, iolist_to_binary(lists:join($\s, Points))}], []}]}.

fmt(F) -> float_to_binary(float(F), [{decimals, 1}]).
