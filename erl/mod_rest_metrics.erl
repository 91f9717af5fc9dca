%% SPDX-License-Identifier: GPL-2.0-or-later
%%%----------------------------------------------------------------------
%%% mod_rest_metrics: the module's figures, node-wide, in the VM.
%%%
%%% One `counters` array (write_concurrency), created once per node and kept in persistent_term
%%% for the life of the VM: the HTTP processes add to it themselves, with no process hop and no
%%% lock, and the figures survive a module or ejabberd restart (Prometheus counters only ever
%%% grow). Every label comes from a fixed set below: none is ever made from request data.
%%%
%%% Written out as Prometheus text (exposition format 0.0.4) by GET /rest/metrics, by the
%%% `mod_rest_stats` command and, as a table, by the web admin page (mod_rest_webadmin).
%%%
%%% Other modules (webhooks, ...) add figures of their own through a small registry:
%%%
%%%     mod_rest_metrics:declare(mod_rest_webhook_deliveries_total, counter,
%%%                              <<"Webhook deliveries, by outcome.">>,
%%%                              outcome, [delivered, failed, dropped]),
%%%     mod_rest_metrics:inc(mod_rest_webhook_deliveries_total, delivered),
%%%     mod_rest_metrics:inc(mod_rest_webhook_deliveries_total, failed, 3),
%%%     mod_rest_metrics:set(mod_rest_webhook_queue_length, none, 12),   % a gauge
%%%
%%% declare/5 is idempotent (call it from start/2); the label values are a fixed list of atoms,
%%% and an increment of a name or value never declared is ignored (returns `undeclared`), so a
%%% caller can never grow the output. LabelName `none` declares one unlabelled series. Declared
%%% figures appear after the built-in ones in every output. Names should start with mod_rest_.
%%%----------------------------------------------------------------------
-module(mod_rest_metrics).

%% The request path
-export([request_started/0, request_done/5, refused/1, action/2, route/1]).
%% The worker (mod_rest_port)
-export([worker_event/1, worker_state/1]).
%% The registry for other modules
-export([declare/5, inc/2, inc/3, set/3]).
%% Reading
-export([snapshot/0, prometheus/0, content_type/0, bucket_index/1]).

-define(KEY, {?MODULE, counters, 1}).
-define(EXT_NAMES, {?MODULE, ext_names}).

%% Route labels: the path templates of GET /rest/openapi.json, and our own two paths.
-define(ROUTES, {root, echo, openapi, metrics, health, path, payload_to, kind_type_to, other}).
-define(ROUTE_LABELS, {<<"/">>, <<"/echo">>, <<"/openapi.json">>, <<"/metrics">>, <<"/health">>,
                       <<"/{path}">>, <<"/{payload}/{to}">>, <<"/{kind}/{type}/{to}">>, <<"other">>}).
-define(N_ROUTES, 9).
-define(CLASSES, {<<"1xx">>, <<"2xx">>, <<"3xx">>, <<"4xx">>, <<"5xx">>}).
%% Latency buckets, in microseconds (upper bounds, le); the last, +Inf, is implied.
-define(BUCKETS, {1000, 2500, 5000, 10000, 25000, 50000, 100000, 250000, 500000,
                  1000000, 2500000, 5000000, 10000000}).
-define(N_BUCKETS, 14).
%% What the worker decided, as carried out in the VM.
-define(ACTIONS, {route, command, send, echo, archive, document, answer}).
-define(REFUSALS, {rate_limited, too_large, overloaded, busy, timeout, unavailable,
                   worker_died, garbled}).
-define(WORKER_EVENTS, {started, died, garbled, frozen, hello_timeout, start_failed}).

%% The layout of the one counters array.
-define(IN_FLIGHT, 1).
-define(WORKER_STATE, 2).
-define(REQUESTS, 3).                                  % route x class
-define(BYTES_IN, (?REQUESTS + ?N_ROUTES * 5)).        % per route
-define(BYTES_OUT, (?BYTES_IN + ?N_ROUTES)).           % per route
-define(HIST, (?BYTES_OUT + ?N_ROUTES)).               % route x (buckets, sum in us, count)
-define(HIST_WIDTH, (?N_BUCKETS + 2)).
-define(ACTION, (?HIST + ?N_ROUTES * ?HIST_WIDTH)).
-define(ACTION_REFUSED, (?ACTION + tuple_size(?ACTIONS))).
-define(REFUSED, (?ACTION_REFUSED + tuple_size(?ACTIONS))).
-define(WORKER, (?REFUSED + tuple_size(?REFUSALS))).
-define(SIZE, (?WORKER + tuple_size(?WORKER_EVENTS))).

-type route() :: root | echo | openapi | metrics | health | path | payload_to | kind_type_to | other.
-type refusal() :: rate_limited | too_large | overloaded | busy | timeout | unavailable
                 | worker_died | garbled.
-type worker_state() :: down | starting | ready.
-type label_value() :: atom().
-export_type([route/0, refusal/0]).

%%%===================================================================
%%% The request path: a few counters:add/3 a request
%%%===================================================================
%% The route label of a request path (ejabberd_http's LocalPath under /rest).
-spec route([binary()]) -> route().
route([]) -> root;
route([<<"echo">>]) -> echo;
route([<<"openapi.json">>]) -> openapi;
route([<<"metrics">>]) -> metrics;
route([<<"health">>]) -> health;
route([_]) -> path;
route([_, _]) -> payload_to;
route([_, _, _]) -> kind_type_to;
route(_) -> other.

%% A request came in; returns its start time for request_done/5.
-spec request_started() -> integer().
request_started() ->
    counters:add(ref(), ?IN_FLIGHT, 1),
    erlang:monotonic_time(microsecond).

-spec request_done(route(), integer(), non_neg_integer(), non_neg_integer(), integer()) -> ok.
request_done(Route, Status, BytesIn, BytesOut, Started) ->
    Ref = ref(),
    R = case route_index(Route) of
            0 -> ?N_ROUTES;   % other
            I -> I
        end,
    Micros = max(0, erlang:monotonic_time(microsecond) - Started),
    Class = if Status >= 100, Status < 600 -> Status div 100; true -> 5 end,
    Hist = ?HIST + (R - 1) * ?HIST_WIDTH,
    counters:sub(Ref, ?IN_FLIGHT, 1),
    counters:add(Ref, ?REQUESTS + (R - 1) * 5 + Class - 1, 1),
    counters:add(Ref, ?BYTES_IN + R - 1, BytesIn),
    counters:add(Ref, ?BYTES_OUT + R - 1, BytesOut),
    counters:add(Ref, Hist + bucket_index(Micros) - 1, 1),
    counters:add(Ref, Hist + ?N_BUCKETS, Micros),
    counters:add(Ref, Hist + ?N_BUCKETS + 1, 1).

%% The first bucket (1-based) whose bound holds Micros; ?N_BUCKETS for +Inf.
-spec bucket_index(non_neg_integer()) -> 1..?N_BUCKETS.
bucket_index(Micros) ->
    bucket_index(Micros, 1).

bucket_index(_Micros, I) when I >= ?N_BUCKETS -> ?N_BUCKETS;
bucket_index(Micros, I) when Micros =< element(I, ?BUCKETS) -> I;
bucket_index(Micros, I) -> bucket_index(Micros, I + 1).

%% A request refused before or around the worker (429, 413, 503, 504).
-spec refused(refusal()) -> ok.
refused(Why) ->
    add(?REFUSED, index(Why, ?REFUSALS)).

%% What the worker decided for a request, by what came of it in the VM: carried out (an
%% answer below 400), or refused or failed there (credentials, access_commands, a hook, a
%% command's own failure).
-spec action(atom(), pos_integer()) -> ok.
action(Kind, Status) when Status < 400 ->
    add(?ACTION, index(Kind, ?ACTIONS));
action(Kind, _Status) ->
    add(?ACTION_REFUSED, index(Kind, ?ACTIONS)).

%%%===================================================================
%%% The worker
%%%===================================================================
-spec worker_event(started | died | garbled | frozen | hello_timeout | start_failed) -> ok.
worker_event(Event) ->
    add(?WORKER, index(Event, ?WORKER_EVENTS)).

-spec worker_state(worker_state()) -> ok.
worker_state(State) ->
    counters:put(ref(), ?WORKER_STATE, case State of down -> 0; starting -> 1; ready -> 2 end).

%%%===================================================================
%%% The registry for other modules
%%%===================================================================
-spec declare(atom(), counter | gauge, binary(), atom(), [label_value()]) -> ok.
declare(Name, Type, Help, LabelName, Values0)
  when is_atom(Name), (Type == counter orelse Type == gauge), is_binary(Help), is_atom(LabelName),
       is_list(Values0) ->
    Values = case LabelName of
                 none -> [none];
                 _ -> lists:usort(Values0)
             end,
    true = lists:all(fun is_atom/1, Values),
    Key = {?MODULE, ext, Name},
    case persistent_term:get(Key, undefined) of
        {Type, Help, LabelName, Values, _, _} -> ok;       % already so: no global GC for nothing
        _ ->
            Ref = counters:new(length(Values), [write_concurrency]),
            Index = maps:from_list(lists:zip(Values, lists:seq(1, length(Values)))),
            persistent_term:put(Key, {Type, Help, LabelName, Values, Index, Ref}),
            Names = persistent_term:get(?EXT_NAMES, []),
            case lists:member(Name, Names) of
                true -> ok;
                false -> persistent_term:put(?EXT_NAMES, Names ++ [Name])
            end
    end.

-spec inc(atom(), label_value()) -> ok | undeclared.
inc(Name, Value) ->
    inc(Name, Value, 1).

-spec inc(atom(), label_value(), integer()) -> ok | undeclared.
inc(Name, Value, N) when is_integer(N) ->
    with_ext(Name, Value, fun(Ref, I) -> counters:add(Ref, I, N) end).

-spec set(atom(), label_value(), integer()) -> ok | undeclared.
set(Name, Value, N) when is_integer(N) ->
    with_ext(Name, Value, fun(Ref, I) -> counters:put(Ref, I, N) end).

with_ext(Name, Value, Fun) ->
    case persistent_term:get({?MODULE, ext, Name}, undefined) of
        {_, _, _, _, #{Value := I}, Ref} -> Fun(Ref, I);
        _ -> undeclared
    end.

%%%===================================================================
%%% Reading
%%%===================================================================
-type sample() :: {binary(), [{binary(), binary()}], number()}.
-type family() :: {binary(), counter | gauge | histogram, binary(), [sample()]}.

%% Every figure, as metric families of samples (name, labels, value).
-spec snapshot() -> [family()].
snapshot() ->
    Ref = ref(),
    Get = fun(I) -> counters:get(Ref, I) end,
    Routes = lists:seq(1, ?N_ROUTES),
    RouteLabel = fun(R) -> {<<"route">>, element(R, ?ROUTE_LABELS)} end,
    Requests = [{<<"mod_rest_requests_total">>, [RouteLabel(R), {<<"class">>, element(C, ?CLASSES)}],
                 Get(?REQUESTS + (R - 1) * 5 + C - 1)}
                || R <- Routes, C <- lists:seq(1, 5)],
    PerRoute = fun(Name, Base) -> [{Name, [RouteLabel(R)], Get(Base + R - 1)} || R <- Routes] end,
    %% Only the routes that had requests: nine empty histograms would be 144 lines of zeros.
    Histogram = lists:append([histogram(RouteLabel(R), ?HIST + (R - 1) * ?HIST_WIDTH, Get)
                              || R <- Routes, Get(?HIST + (R - 1) * ?HIST_WIDTH + ?N_BUCKETS + 1) > 0]),
    Labelled = fun(Name, Label, Tuple, Base) ->
                       [{Name, [{Label, atom_to_binary(element(I, Tuple), utf8)}], Get(Base + I - 1)}
                        || I <- lists:seq(1, tuple_size(Tuple))]
               end,
    State = Get(?WORKER_STATE),
    [{<<"mod_rest_requests_total">>, counter,
      <<"HTTP requests answered, by route (the OpenAPI path template) and status class.">>,
      nonzero(Requests)},
     {<<"mod_rest_request_duration_seconds">>, histogram,
      <<"Time from the request reaching mod_rest to its answer, by route.">>, Histogram},
     {<<"mod_rest_request_bytes_total">>, counter, <<"Request body bytes, by route.">>,
      PerRoute(<<"mod_rest_request_bytes_total">>, ?BYTES_IN)},
     {<<"mod_rest_response_bytes_total">>, counter, <<"Response body bytes, by route.">>,
      PerRoute(<<"mod_rest_response_bytes_total">>, ?BYTES_OUT)},
     {<<"mod_rest_requests_in_flight">>, gauge, <<"HTTP requests mod_rest is handling now.">>,
      [{<<"mod_rest_requests_in_flight">>, [], Get(?IN_FLIGHT)}]},
     {<<"mod_rest_worker_pending">>, gauge,
      <<"Requests waiting for the worker now (max_in_flight bounds it).">>,
      [{<<"mod_rest_worker_pending">>, [], mod_rest_port:pending()}]},
     {<<"mod_rest_actions_total">>, counter,
      <<"What the worker decided for a request, carried out in the VM (answered below 400).">>,
      Labelled(<<"mod_rest_actions_total">>, <<"action">>, ?ACTIONS, ?ACTION)},
     {<<"mod_rest_actions_refused_total">>, counter,
      <<"What the worker decided for a request, refused or failed in the VM (answered 400 or "
        "more: credentials, access_commands, hooks, a command's failure).">>,
      Labelled(<<"mod_rest_actions_refused_total">>, <<"action">>, ?ACTIONS, ?ACTION_REFUSED)},
     {<<"mod_rest_refused_total">>, counter,
      <<"Requests answered without being carried out: rate_limited (429, rate_limit_per_ip), "
        "too_large (413), overloaded (503, max_in_flight), busy, unavailable, worker_died, "
        "garbled (503), timeout (504).">>,
      Labelled(<<"mod_rest_refused_total">>, <<"reason">>, ?REFUSALS, ?REFUSED)},
     {<<"mod_rest_worker_events_total">>, counter,
      <<"Worker starts, and why workers were replaced (died, garbled, frozen, hello_timeout) "
        "or could not start.">>,
      Labelled(<<"mod_rest_worker_events_total">>, <<"event">>, ?WORKER_EVENTS, ?WORKER)},
     {<<"mod_rest_worker_up">>, gauge,
      <<"1 when the worker said hello and serves, 0 when it is starting or down.">>,
      [{<<"mod_rest_worker_up">>, [], case State of 2 -> 1; _ -> 0 end}]},
     {<<"mod_rest_worker_state">>, gauge, <<"The worker's state: 1 for the current one.">>,
      [{<<"mod_rest_worker_state">>, [{<<"state">>, Name}], case I of State -> 1; _ -> 0 end}
       || {I, Name} <- [{0, <<"down">>}, {1, <<"starting">>}, {2, <<"ready">>}]]}
     | declared()].

%% The route x class combinations seen (45 in all): an absent series is a zero.
nonzero(Samples) ->
    [S || {_, _, V} = S <- Samples, V /= 0].

histogram(RouteLabel, Base, Get) ->
    {Cumulative, _} =
        lists:mapfoldl(fun(I, Acc) ->
                               N = Acc + Get(Base + I - 1),
                               Le = case I of
                                        ?N_BUCKETS -> <<"+Inf">>;
                                        _ -> seconds(element(I, ?BUCKETS))
                                    end,
                               {{<<"mod_rest_request_duration_seconds_bucket">>,
                                 [RouteLabel, {<<"le">>, Le}], N}, N}
                       end, 0, lists:seq(1, ?N_BUCKETS)),
    Cumulative ++
        [{<<"mod_rest_request_duration_seconds_sum">>, [RouteLabel], Get(Base + ?N_BUCKETS) / 1000000},
         {<<"mod_rest_request_duration_seconds_count">>, [RouteLabel], Get(Base + ?N_BUCKETS + 1)}].

declared() ->
    lists:filtermap(
      fun(Name) ->
              case persistent_term:get({?MODULE, ext, Name}, undefined) of
                  {Type, Help, LabelName, Values, Index, Ref} ->
                      N = atom_to_binary(Name, utf8),
                      Samples = [{N, case LabelName of
                                         none -> [];
                                         _ -> [{atom_to_binary(LabelName, utf8), atom_to_binary(V, utf8)}]
                                     end, counters:get(Ref, maps:get(V, Index))}
                                 || V <- Values],
                      {true, {N, Type, Help, Samples}};
                  undefined -> false
              end
      end, persistent_term:get(?EXT_NAMES, [])).

-spec content_type() -> binary().
content_type() ->
    <<"text/plain; version=0.0.4; charset=utf-8">>.

%% The Prometheus text exposition format (version 0.0.4).
-spec prometheus() -> binary().
prometheus() ->
    iolist_to_binary(
      [[<<"# HELP ">>, Name, $\s, Help, $\n, <<"# TYPE ">>, Name, $\s, atom_to_binary(Type, utf8), $\n,
        [[N, labels(Labels), $\s, number(V), $\n] || {N, Labels, V} <- Samples]]
       || {Name, Type, Help, Samples} <- snapshot()]).

labels([]) -> [];
labels(Labels) ->
    [${, lists:join($,, [[K, <<"=\"">>, V, $"] || {K, V} <- Labels]), $}].

number(V) when is_integer(V) -> integer_to_binary(V);
number(V) when is_float(V) -> float_to_binary(V, [short]).

seconds(Micros) ->
    float_to_binary(Micros / 1000000, [short]).

%%%===================================================================
%%% Internals
%%%===================================================================
%% The node's counters, made at first use. persistent_term:put/2 of a new key costs no global
%% GC; the key is never replaced (only the layout version in ?KEY would change it).
ref() ->
    case persistent_term:get(?KEY, undefined) of
        undefined -> create();
        Ref -> Ref
    end.

create() ->
    %% Two processes may get here at once: the global lock makes one of them create it.
    global:trans({?MODULE, node()},
                 fun() ->
                         case persistent_term:get(?KEY, undefined) of
                             undefined ->
                                 Ref = counters:new(?SIZE, [write_concurrency]),
                                 persistent_term:put(?KEY, Ref),
                                 Ref;
                             Ref -> Ref
                         end
                 end, [node()]).

route_index(Route) -> index(Route, ?ROUTES).

%% One more in the I-th counter of a labelled group; I = 0 (not in its fixed set) counts nothing.
add(_Base, 0) -> ok;
add(Base, I) -> counters:add(ref(), Base + I - 1, 1).

index(Name, Tuple) -> index(Name, Tuple, 1).

index(_Name, Tuple, I) when I > tuple_size(Tuple) -> 0;
index(Name, Tuple, I) when element(I, Tuple) == Name -> I;
index(Name, Tuple, I) -> index(Name, Tuple, I + 1).
