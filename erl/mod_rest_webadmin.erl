%% SPDX-License-Identifier: GPL-2.0-or-later
%%%----------------------------------------------------------------------
%%% mod_rest_webadmin: a page in ejabberd's web admin, per vhost (/admin/server/HOST/rest/):
%%% this node's figures (the same as GET /rest/metrics) as tables, and the vhost's options.
%%%
%%% Through the hooks ejabberd's own modules use for their pages, unchanged from 23.01 to 26.07:
%%% webadmin_menu_host (Acc, Host, Lang) adds the menu entry; webadmin_page_host (Acc, Host,
%%% #request{path = [<<"rest">>]}) answers {stop, Elements}. ejabberd_web_admin checks the
%%% viewer's access (its `configure` / `webadmin_view` rules) before either runs. The elements
%%% are plain #xmlel{} (no web admin macros, whose header moves between releases).
%%%----------------------------------------------------------------------
-module(mod_rest_webadmin).

-export([start/1, stop/1, web_menu_host/3, web_page_host/3, page/1]).

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

%% The page's elements: a heading, the figures, the options.
-spec page(binary()) -> [fxml:xmlel()].
page(Host) ->
    [el(<<"h1">>, [text(<<"mod_rest">>)]),
     el(<<"p">>, [text(<<"Figures of this node (", (atom_to_binary(node(), utf8))/binary,
                        "), all vhosts together; the same as GET /rest/metrics and "
                        "ejabberdctl mod_rest_stats.">>)]),
     el(<<"h2">>, [text(<<"Figures">>)])
     | lists:append([family(F) || F <- mod_rest_metrics:snapshot()])]
    ++ [el(<<"h2">>, [text(<<"Options of ", Host/binary>>)]), options(Host)].

family({Name, Type, Help, Samples}) ->
    %% A histogram as its count, sum and mean per route: the buckets are for Prometheus.
    Rows = case Type of
               histogram -> histogram_rows(Samples);
               _ -> [[labels(L), number(V)] || {_, L, V} <- Samples]
           end,
    [el(<<"h3">>, [text(Name)]), el(<<"p">>, [text(Help)]),
     table([<<"labels">>, <<"value">>],
           case Rows of
               [] -> [[<<"(none yet)">>, <<"">>]];
               _ -> Rows
           end)].

histogram_rows(Samples) ->
    Sums = maps:from_list([{L, V} || {N, L, V} <- Samples,
                                     N == <<"mod_rest_request_duration_seconds_sum">>]),
    [[labels(L), iolist_to_binary(io_lib:format("~B requests, ~.3f s in all, ~.3f ms each",
                                                [C, maps:get(L, Sums, 0.0),
                                                 1000 * maps:get(L, Sums, 0.0) / max(C, 1)]))]
     || {N, L, C} <- Samples, N == <<"mod_rest_request_duration_seconds_count">>].

options(Host) ->
    Opts = try gen_mod:get_module_opts(Host, mod_rest)
           catch _:_ -> #{}
           end,
    table([<<"option">>, <<"value">>],
          [[atom_to_binary(K, utf8), value(V)] || {K, V} <- lists:sort(maps:to_list(Opts))]).

%% Option values as they would be written in ejabberd.yml, as far as is simple.
value(all) -> <<"all">>;
value(V) when is_atom(V) -> atom_to_binary(V, utf8);
value(V) when is_integer(V) -> integer_to_binary(V);
value(V) when is_binary(V) -> V;
value(V) when is_list(V) -> iolist_to_binary(["[", lists:join(", ", [value(X) || X <- V]), "]"]);
value({IP, Bits}) when is_tuple(IP), is_integer(Bits) ->
    try iolist_to_binary([inet:ntoa(IP), $/, integer_to_binary(Bits)])
    catch _:_ -> term(IP)
    end;
value({K, V}) when is_atom(K) -> iolist_to_binary([atom_to_binary(K, utf8), ": ", value(V)]);
value(V) ->
    try jid:encode(V)
    catch _:_ -> term(V)
    end.

term(V) -> iolist_to_binary(io_lib:format("~0p", [V])).

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
