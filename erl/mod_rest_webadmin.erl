%% SPDX-License-Identifier: GPL-2.0-or-later
%%%----------------------------------------------------------------------
%%% mod_rest_webadmin: a page in ejabberd's web admin, per vhost (/admin/server/HOST/rest/):
%%% this node's traffic as sparklines (mod_rest_sampler), latency percentiles, the vhost's webhooks
%%% and their health, the figures (the same as GET /rest/metrics) as tables, and the vhost's
%%% options with their units, secrets hidden (mod_rest_display). Plain HTML and inline SVG: no script.
%%%
%%% Through the hooks ejabberd's own modules use for their pages, unchanged from 23.01 to 26.07:
%%% webadmin_menu_host (Acc, Host, Lang) adds the menu entry; webadmin_page_host (Acc, Host,
%%% #request{path = [<<"rest">>]}) answers {stop, Elements}. ejabberd_web_admin checks the
%%% viewer's access (its `configure` / `webadmin_view` rules) before either runs. The elements
%%% are plain #xmlel{} (no web admin macros, whose header moves between releases).
%%%----------------------------------------------------------------------
-module(mod_rest_webadmin).

-export([start/1, stop/1, web_menu_host/3, web_page_host/3, page/1]).
%% Pure helpers, exported for the EUnit tests
-export([health/2]).

-include("ejabberd_http.hrl").

-define(PATH, <<"rest">>).

-spec start(binary()) -> ok.
start(Host) ->
    ejabberd_hooks:add(webadmin_menu_host, Host, ?MODULE, web_menu_host, 50),
    ejabberd_hooks:add(webadmin_page_host, Host, ?MODULE, web_page_host, 50).

-spec stop(binary()) -> ok.
stop(Host) ->
    ejabberd_hooks:delete(webadmin_menu_host, Host, ?MODULE, web_menu_host, 50),
    ejabberd_hooks:delete(webadmin_page_host, Host, ?MODULE, web_page_host, 50).

-spec web_menu_host([tuple()], binary(), binary()) -> [tuple()].
web_menu_host(Acc, _Host, _Lang) ->
    Acc ++ [{?PATH, <<"mod_rest">>}].

-spec web_page_host(term(), binary(), #request{}) -> term().
web_page_host(_Acc, Host, #request{path = [?PATH]}) ->
    {stop, page(Host)};
web_page_host(Acc, _Host, _Request) ->
    Acc.

%% The page's elements: traffic (sparklines), latency (percentiles), webhooks (health), the
%% figures as tables, the vhost's options (with units, secrets hidden).
-spec page(binary()) -> [fxml:xmlel()].
page(Host) ->
    [el(<<"h1">>, [text(<<"mod_rest">>)]),
     el(<<"p">>, [text(<<"Figures of this node (", (atom_to_binary(node(), utf8))/binary,
                        "), all vhosts together; the same as GET /rest/metrics and "
                        "ejabberdctl mod_rest_stats. Refresh the page to update it.">>)])]
    ++ traffic() ++ latency() ++ webhooks(Host)
    ++ [el(<<"h2">>, [text(<<"Figures">>)])
        | lists:append([family(F) || F <- mod_rest_metrics:snapshot(),
                                     element(2, F) /= histogram])]
    ++ [el(<<"h2">>, [text(<<"Options of ", Host/binary>>)]),
        el(<<"p">>, [text(<<"As they would be written in ejabberd.yml (a timeout with its unit: a bare "
                            "number there means seconds). Secrets and the tokens of URLs are not shown.">>)]),
        options(Host)].

%% Requests and 5xx answers a second over the last ten minutes, from mod_rest_sampler's readings.
traffic() ->
    Readings = mod_rest_sampler:readings(),
    {Now, _} = lists:last(Readings),
    Line = fun(Title, Key) ->
                   Rates = mod_rest_display:rates([{T, maps:get(Key, M)} || {T, M} <- Readings]),
                   Last = case Rates of [] -> 0; _ -> element(3, lists:last(Rates)) end,
                   Peak = lists:max([0 | [R || {_, _, R} <- Rates]]),
                   el(<<"div">>, [{<<"class">>, <<"mod-rest-traffic">>}],
                      [el(<<"p">>, [text(iolist_to_binary(
                                            [Title, ": now ", mod_rest_display:rate(Last),
                                             ", peak ", mod_rest_display:rate(Peak)]))]),
                       mod_rest_display:sparkline(Rates, Now)])
           end,
    [el(<<"h2">>, [text(<<"Traffic">>)]),
     el(<<"p">>, [text(iolist_to_binary(
                         ["The last ten minutes (or since mod_rest started), in ", integer_to_binary(mod_rest_sampler:interval() div 1000),
                          "-second steps (the last one in progress); each line is scaled to its own peak."]))]),
     Line(<<"Requests a second">>, requests),
     Line(<<"Errors (5xx answers) a second">>, errors)].

%% Latency percentiles per route since start, and of every route over the last ten minutes:
%% estimated from the histogram's buckets as Prometheus' histogram_quantile() does.
latency() ->
    Qs = [0.5, 0.9, 0.99],
    Row = fun(Label, Buckets, Count, Mean) ->
                  [Label, integer_to_binary(Count)]
                  ++ [mod_rest_display:latency(mod_rest_metrics:quantile(Q, Buckets)) || Q <- Qs]
                  ++ [Mean]
          end,
    PerRoute = [Row(<<Route/binary, " (since start)">>, Buckets, Count, mod_rest_display:latency(Sum / Count))
                || {Route, Buckets, Sum, Count} <- mod_rest_metrics:latency()],
    Readings = mod_rest_sampler:readings(),
    {_, #{buckets := First}} = hd(Readings),
    {_, #{buckets := Last}} = lists:last(Readings),
    Recent = lists:zipwith(fun(A, B) -> B - A end, First, Last),
    Rows = [Row(<<"every route (last ten minutes)">>, Recent, lists:sum(Recent), <<"-">>) | PerRoute],
    [el(<<"h2">>, [text(<<"Latency">>)]),
     el(<<"p">>, [text(<<"From a request reaching mod_rest to its answer. Percentiles are estimated "
                         "within the buckets of mod_rest_request_duration_seconds (1 ms to 10 s).">>)]),
     table([<<"route">>, <<"requests">>, <<"p50">>, <<"p90">>, <<"p99">>, <<"mean">>], Rows)].

%% This vhost's webhooks: where they post (masked), what they serve, their health and counts.
webhooks(Host) ->
    Now = erlang:system_time(second),
    Rows = [[mod_rest_display:mask_url(maps:get(url, W)), maps:get(serves, W), health(W, Now)]
            ++ [integer_to_binary(maps:get(K, W, 0)) || K <- [sent, failed, retried, dropped]]
            ++ [iolist_to_binary([integer_to_binary(maps:get(held, W, 0)), " of ",
                                  integer_to_binary(maps:get(queue_size, W, 0))]),
                integer_to_binary(maps:get(running, W, 0))]
            || W <- mod_rest_webhook:counters(Host)],
    [el(<<"h2">>, [text(<<"Webhooks of ", Host/binary>>)]),
     case Rows of
         [] -> el(<<"p">>, [text(<<"None configured (option webhooks).">>)]);
         _ -> table([<<"URL (tokens hidden)">>, <<"serves">>, <<"health">>, <<"sent">>,
                     <<"failed">>, <<"retried">>, <<"dropped">>, <<"queued">>, <<"calling">>], Rows)
     end].

%% A webhook's health, from its latest outcome and its queue.
-spec health(map(), integer()) -> binary().
health(#{held := Held, queue_size := Max}, _Now) when Held >= Max ->
    <<"overloaded: its queue is full">>;
health(#{last := {Event, At}}, Now) ->
    Ago = [" (", integer_to_binary(max(0, Now - At)), " s ago)"],
    iolist_to_binary([case Event of
                          sent -> "ok: the last call was answered 2xx";
                          retried -> "failing: unreachable, retrying";
                          failed -> "failing: the last call failed";
                          dropped -> "overloaded: a stanza was dropped"
                      end, Ago]);
health(_, _Now) ->
    <<"no call yet">>.

family({Name, _Type, Help, Samples}) ->
    Rows = [[labels(L), number(V)] || {_, L, V} <- Samples],
    [el(<<"h3">>, [text(Name)]), el(<<"p">>, [text(Help)]),
     table([<<"labels">>, <<"value">>],
           case Rows of
               [] -> [[<<"(none yet)">>, <<"">>]];
               _ -> Rows
           end)].

options(Host) ->
    Opts = try gen_mod:get_module_opts(Host, mod_rest)
           catch _:_ -> #{}
           end,
    table([<<"option">>, <<"value">>],
          [[atom_to_binary(K, utf8), mod_rest_display:option(K, V)] || {K, V} <- lists:sort(maps:to_list(Opts))]).

labels([]) -> <<"">>;
labels(Labels) -> iolist_to_binary(lists:join(", ", [[K, $=, V] || {K, V} <- Labels])).

number(V) when is_integer(V) -> integer_to_binary(V);
number(V) when is_float(V) -> float_to_binary(V, [short]).

table(Head, Rows) ->
    el(<<"table">>, [{<<"class">>, <<"withtextareas">>}],
       [el(<<"thead">>, [el(<<"tr">>, [el(<<"td">>, [text(H)]) || H <- Head])]),
        el(<<"tbody">>, [el(<<"tr">>, [el(<<"td">>, [text(C)]) || C <- Row]) || Row <- Rows])]).

el(Name, Children) -> el(Name, [], Children).
el(Name, Attrs, Children) -> {xmlel, Name, Attrs, Children}.
text(Text) -> {xmlcdata, Text}.
