%% SPDX-License-Identifier: GPL-2.0-or-later
%%%----------------------------------------------------------------------
%%% mod_rest_webhook: bots as HTTP services. One process per configured webhook (option
%%% `webhooks` of mod_rest) receives the stanzas meant for it, POSTs each to its URL through
%%% the worker (a `{webhook, Id, #{...}}` frame, see mod_rest_port) and routes what the service
%%% answers: its reply stanza, or a stanza error to the sender.
%%%
%%% Where stanzas come from:
%%%   - a subdomain (`domain`), registered with ejabberd_router like a component: every
%%%     stanza to it, its users and their resources ({route, Packet} messages);
%%%   - local accounts (`accounts`): with `when: always` the filter_packet hook takes every
%%%     stanza to them before delivery; with `when: offline` the offline_message_hook takes
%%%     the messages no session of theirs received (before mod_offline stores them).
%%%
%%% Delivery is owned here, in the VM, so that it survives worker restarts: a bounded queue
%%% (queue_size, retries waiting included), at most `concurrency` calls at once, each with a
%%% deadline (`timeout`). A message whose call could not reach the service (connection refused,
%%% 503, the worker restarting or dead mid-call) is tried again after retry_delay, doubling,
%%% at most `retries` times; then its sender gets an error. A 2xx answer is final: it is never
%%% sent again. A timeout is not retried either (the service may have acted on it).
%%%----------------------------------------------------------------------
-module(mod_rest_webhook).
-behaviour(gen_server).

-export([start/2, stop/1, counters/1, validate_url/1, webhook_opt_type/0]).
-define(EVENTS_METRIC, mod_rest_webhook_events_total).
-export([start_link/2, init/1, handle_call/3, handle_cast/2, handle_info/2, terminate/2,
         format_status/1]).
-export([filter_packet/1, offline_message/1]).
%% Pure helpers, exported for the EUnit tests
-export([reply_stanza/2, http_error/1, classify/1, backoff/2]).

-include("logger.hrl").

-define(NS_CLIENT, <<"jabber:client">>).
-define(ACCOUNTS, {?MODULE, accounts}).
%% The worker's own deadline is `timeout`; the port call waits this much longer, so that the
%% worker's answer (a timeout it measured) normally wins over ours.
-define(CALL_MARGIN, 2000).
-define(MAX_RETRY_DELAY, 60000).
%% filter_packet and offline_message_hook: before mod_offline (50) stores a message.
-define(HOOK_PRIORITY, 40).
%% How often each webhook process forgets the old entries of mod_rest_webhook_chain.
-define(CHAIN_SWEEP_INTERVAL, 5000).

-type webhook() :: #{url := binary(), format := xml | json, secret := binary() | none,
                     ca_file := binary() | none,
                     domain := binary() | none, accounts := [jid:jid()], 'when' := offline | always,
                     stanzas := [message | presence | iq], events := [bare | full | host],
                     timeout := pos_integer(), queue_size := pos_integer(),
                     concurrency := pos_integer(), retries := non_neg_integer(),
                     retry_delay := pos_integer()}.
-type outcome() :: {ok, none | tuple()} | {down, binary()} | timeout
                 | {refused, pos_integer()} | {bad_answer, binary()}.

%% id: the delivery id, the same in every attempt of one call (its Webhook-Id header), so that a
%% service can drop a call it has already handled (idempotency issue 19).
%% hops: how many webhook replies in a row led to pkt (mod_rest_webhook_chain).
-record(job, {pkt :: xmpp:stanza(), id :: binary(), attempt = 0 :: non_neg_integer(),
              hops = 0 :: non_neg_integer()}).
-record(state, {host :: binary(), n :: pos_integer(), hook :: webhook(), name :: binary(),
                queue = queue:new() :: queue:queue(#job{}),
                %% Jobs in the queue plus jobs waiting for a retry: at most queue_size.
                held = 0 :: non_neg_integer(),
                running = #{} :: #{reference() => #job{}},
                counters = #{sent => 0, failed => 0, retried => 0, dropped => 0, looped => 0}
                    :: #{atom() => non_neg_integer()},
                %% The latest outcome and when (Unix seconds): the web admin page's health.
                last = none :: none | {atom(), integer()}}).

%%%===================================================================
%%% API
%%%===================================================================
%% Starts one process per webhook of this vhost (under ejabberd's gen_mod supervisor).
-spec start(binary(), [webhook()]) -> ok.
start(Host, Webhooks) ->
    %% Node-wide totals for /rest/metrics and mod_rest_stats; counters/1 has them per webhook.
    mod_rest_metrics:declare(?EVENTS_METRIC, counter,
                             <<"Webhook outcomes on this node: sent (2xx), failed (an error sent back), "
                               "retried, dropped (queue full), looped (refused: too many webhook "
                               "replies in a row).">>, event, [sent, failed, retried, dropped, looped]),
    add_hooks(Host, Webhooks),
    lists:foreach(
      fun({N, Hook}) ->
              Spec = #{id => {?MODULE, Host, N}, start => {?MODULE, start_link, [{Host, N}, Hook]},
                       restart => transient, shutdown => 5000, type => worker, modules => [?MODULE]},
              case supervisor:start_child(ejabberd_gen_mod_sup, Spec) of
                  {ok, _} -> ok;
                  Err -> ?ERROR_MSG("mod_rest: webhook ~ts cannot start: ~p", [safe_url(Hook), Err])
              end
      end, lists:zip(lists:seq(1, length(Webhooks)), Webhooks)).

%% Stops this vhost's webhook processes. What they held (queued, waiting for a retry) is
%% answered with an error to its senders, never dropped silently.
-spec stop(binary()) -> ok.
stop(Host) ->
    Ids = [Id || {{?MODULE, H, _} = Id, _, _, _} <- supervisor:which_children(ejabberd_gen_mod_sup),
                 H == Host],
    lists:foreach(fun(Id) ->
                          _ = supervisor:terminate_child(ejabberd_gen_mod_sup, Id),
                          _ = supervisor:delete_child(ejabberd_gen_mod_sup, Id)
                  end, Ids),
    del_hooks(Host).

%% Each webhook's counters (sent, failed, retried, dropped), its current load (held of
%% queue_size, running) and its latest outcome (last: none | {Event, UnixSeconds}).
-spec counters(binary()) -> [#{atom() => term()}].
counters(Host) ->
    Pids = [P || {{?MODULE, H, _}, P, _, _} <- supervisor:which_children(ejabberd_gen_mod_sup),
                 H == Host, is_pid(P)],
    lists:filtermap(fun(P) ->
                            try {true, gen_server:call(P, counters, 5000)}
                            catch exit:_ -> false
                            end
                    end, Pids).

%% The validator of one entry of mod_rest's `webhooks` option.
-spec webhook_opt_type() -> econf:validator().
webhook_opt_type() ->
    econf:and_then(
      econf:options(
        #{url => econf:and_then(econf:binary(), fun validate_url/1),
          format => econf:enum([xml, json]),
          secret => econf:binary(),
          ca_file => econf:file(),
          domain => econf:host(),
          accounts => econf:list(econf:jid()),
          'when' => econf:enum([offline, always]),
          stanzas => econf:list(econf:enum([message, presence, iq]), [unique]),
          events => econf:list(econf:enum([bare, full, host]), [unique]),
          timeout => econf:timeout(second),
          queue_size => econf:pos_int(),
          concurrency => econf:pos_int(),
          retries => econf:non_neg_int(),
          retry_delay => econf:timeout(millisecond)},
        [{required, [url]}, {return, map}, unique]),
      fun(M) ->
              Hook = maps:merge(defaults(), M),
              case Hook of
                  #{domain := none, accounts := []} -> econf:fail({no_source, url});
                  _ -> Hook
              end
      end).

defaults() ->
    #{format => xml, secret => none, ca_file => none, domain => none, accounts => [], 'when' => offline,
      stanzas => [message, presence, iq], events => [bare, full, host],
      timeout => timer:seconds(10), queue_size => 100, concurrency => 8, retries => 3,
      retry_delay => timer:seconds(1)}.

%% An http(s) URL, once its {kind} {type} {to} {from} placeholders are filled in.
-spec validate_url(binary()) -> binary().
validate_url(Url) ->
    Filled = re:replace(Url, <<"\\{(kind|type|to|from)\\}">>, <<"x">>, [global, {return, binary}]),
    case uri_string:parse(Filled) of
        #{scheme := Scheme, host := H} when H /= <<>> ->
            case string:lowercase(Scheme) of
                <<"http">> -> Url;
                <<"https">> -> Url;
                _ -> econf:fail({bad_url, Url})
            end;
        _ -> econf:fail({bad_url, Url})
    end.

%%%===================================================================
%%% Where stanzas come from
%%%===================================================================
%% filter_packet (global): stanzas to an account whose webhook takes them `always`.
-spec filter_packet(xmpp:stanza() | drop) -> xmpp:stanza() | drop.
filter_packet(drop) -> drop;
filter_packet(Pkt) ->
    To = bare(xmpp:get_to(Pkt)),
    case maps:find({always, To}, accounts()) of
        error -> Pkt;
        {ok, {Pid, Hook}} ->
            %% The account's own traffic (roster pushes, presence between its resources, its
            %% PEP) stays with its sessions.
            case bare(xmpp:get_from(Pkt)) /= To andalso wanted(Pkt, Hook) of
                true -> gen_server:cast(Pid, {stanza, Pkt}), drop;
                false -> Pkt
            end
    end.

%% offline_message_hook: a message none of the account's sessions took, before mod_offline.
-spec offline_message({atom(), xmpp:stanza()}) -> {atom(), xmpp:stanza()} | {stop, {webhook, xmpp:stanza()}}.
offline_message({_Action, Pkt} = Acc) ->
    To = xmpp:get_to(Pkt),
    case maps:find({offline, bare(To)}, accounts()) of
        {ok, {Pid, Hook}} ->
            case wanted(Pkt, Hook) of
                true -> gen_server:cast(Pid, {stanza, Pkt}), {stop, {webhook, Pkt}};
                false -> Acc
            end;
        error -> Acc
    end.

bare(Jid) ->
    {U, S, _} = jid:tolower(Jid),
    {U, S}.

%% Whether a stanza is of a kind, and to an address form, the webhook takes.
wanted(Pkt, #{stanzas := Kinds, events := Events}) ->
    lists:member(element(1, Pkt), Kinds) andalso lists:member(address_form(xmpp:get_to(Pkt)), Events).

address_form(To) ->
    case jid:tolower(To) of
        {<<>>, _, _} -> host;
        {_, _, <<>>} -> bare;
        _ -> full
    end.

%%%===================================================================
%%% gen_server
%%%===================================================================
-spec start_link({binary(), pos_integer()}, webhook()) -> {ok, pid()} | {error, term()}.
start_link(Key, Hook) ->
    gen_server:start_link(?MODULE, {Key, Hook}, []).

init({{Host, N}, Hook}) ->
    process_flag(trap_exit, true),
    case Hook of
        #{domain := none} -> ok;
        #{domain := Domain} -> ejabberd_router:register_route(Domain, Host)
    end,
    %% Accounts of this vhost only: its hooks are the ones this module adds.
    {Own, Others} = lists:partition(fun(J) -> element(2, bare(J)) == Host end, maps:get(accounts, Hook)),
    [?WARNING_MSG("mod_rest: webhook ~ts: ~ts is not an account of ~ts; ignored",
                  [safe_url(Hook), jid:encode(J), Host]) || J <- Others],
    Self = self(),
    set_accounts(fun(M) -> maps:merge(M, maps:from_list([{{maps:get('when', Hook), bare(J)}, {Self, Hook}}
                                                          || J <- Own])) end),
    ?INFO_MSG("mod_rest: webhook ~ts serves ~ts", [safe_url(Hook), sources(Hook)]),
    erlang:send_after(?CHAIN_SWEEP_INTERVAL, self(), sweep_chains),
    {ok, #state{host = Host, n = N, hook = Hook, name = safe_url(Hook)}}.

handle_call(counters, _From, #state{counters = C, held = Held, running = R, name = Name, hook = Hook,
                                   last = Last} = State) ->
    {reply, C#{url => Name, serves => sources(Hook), held => Held, running => maps:size(R),
               queue_size => maps:get(queue_size, Hook), last => Last}, State};
handle_call(_Request, _From, State) ->
    {reply, {error, badarg}, State}.

handle_cast({stanza, Pkt}, State) ->
    {noreply, accept(Pkt, State)};
handle_cast(_Msg, State) ->
    {noreply, State}.

%% A stanza to the subdomain, from ejabberd_router.
handle_info({route, Pkt}, #state{hook = Hook} = State) ->
    case wanted(Pkt, Hook) of
        true -> {noreply, accept(Pkt, State)};
        false ->
            %% Not for the service: a server answers what it does not handle.
            case element(1, Pkt) of
                presence -> ok;
                _ -> ejabberd_router:route_error(Pkt, xmpp:err_service_unavailable())
            end,
            {noreply, State}
    end;
handle_info({'DOWN', Ref, process, _, Reason}, #state{running = Running} = State) ->
    case maps:take(Ref, Running) of
        {Job, Running1} ->
            State1 = outcome(classify(Reason), Job, State#state{running = Running1}),
            {noreply, next(State1)};
        error -> {noreply, State}
    end;
handle_info(sweep_chains, State) ->
    _ = mod_rest_webhook_chain:sweep(),
    erlang:send_after(?CHAIN_SWEEP_INTERVAL, self(), sweep_chains),
    {noreply, State};
handle_info({retry, Job}, #state{queue = Q} = State) ->
    {noreply, next(State#state{queue = queue:in(Job, Q)})};
handle_info(_Info, State) ->
    {noreply, State}.

terminate(_Reason, #state{hook = Hook, queue = Q, host = Host}) ->
    case Hook of
        #{domain := none} -> ok;
        #{domain := Domain} -> ejabberd_router:unregister_route(Domain)
    end,
    Self = self(),
    set_accounts(fun(M) -> maps:filter(fun(_, {Pid, _}) -> Pid /= Self end, M) end),
    %% Stanzas still queued get an answer; calls in flight finish in their own processes,
    %% but their outcome has nobody to route it (the service may still get them).
    lists:foreach(fun(#job{pkt = Pkt}) ->
                          ejabberd_router:route_error(
                            Pkt, xmpp:err_service_unavailable(<<"The webhook was stopped">>, xmpp:get_lang(Pkt)))
                  end, queue:to_list(Q)),
    ?DEBUG("mod_rest: webhook of ~ts stopped", [Host]),
    ok.

%% Crash reports and sys:get_status/1 print the state: never the secret, nor the queued stanzas.
-spec format_status(map()) -> map().
format_status(#{state := #state{hook = Hook, queue = Q} = S} = Status) ->
    Status#{state => S#state{hook = Hook#{secret => redacted}, queue = {queue:len(Q), stanzas}}};
format_status(Status) ->
    Status.

%%%===================================================================
%%% Delivery
%%%===================================================================
accept(Pkt, State) ->
    Hops = mod_rest_webhook_chain:take(Pkt),
    case mod_rest_webhook_chain:too_long(Hops) of
        false -> enqueue(Pkt, Hops, State);
        true ->
            %% Bots answering each other: the chain ends here. The error is never answered.
            ?INFO_MSG("mod_rest: webhook ~ts: ~ts after ~B webhook replies in a row refused",
                      [State#state.name, xmpp:get_name(Pkt), Hops]),
            ejabberd_router:route_error(
              Pkt, xmpp:err_policy_violation(<<"Too many webhook replies in a row">>, xmpp:get_lang(Pkt))),
            count(looped, State)
    end.

enqueue(Pkt, _Hops, #state{held = Held, hook = #{queue_size := Max}} = State) when Held >= Max ->
    ?WARNING_MSG("mod_rest: webhook ~ts: queue full (~B), ~ts refused",
                 [State#state.name, Max, xmpp:get_name(Pkt)]),
    ejabberd_router:route_error(
      Pkt, xmpp:err_resource_constraint(<<"The service's queue is full">>, xmpp:get_lang(Pkt))),
    next(count(dropped, State));
enqueue(Pkt, Hops, #state{queue = Q, held = Held} = State) ->
    next(State#state{queue = queue:in(#job{pkt = Pkt, id = delivery_id(), hops = Hops}, Q), held = Held + 1}).

%% As the Standard Webhooks' examples: a prefix and 128 random bits, unique without coordination
%% between the nodes of a cluster.
delivery_id() ->
    <<"msg_", (binary:encode_hex(crypto:strong_rand_bytes(16)))/binary>>.

%% Starts queued jobs while there is room.
next(#state{running = R, hook = #{concurrency := C}} = State) when map_size(R) >= C ->
    State;
next(#state{queue = Q, held = Held, running = R} = State) ->
    case queue:out(Q) of
        {empty, _} -> State;
        {{value, Job}, Q1} ->
            Ref = launch(Job, State),
            next(State#state{queue = Q1, held = Held - 1, running = R#{Ref => Job}})
    end.

%% Each call runs in a process of its own, which waits on the worker (mod_rest_port:call/4)
%% and exits with the result: this process never blocks, and a crash there is one failure.
launch(#job{pkt = Pkt, id = Id}, #state{host = Host, hook = Hook}) ->
    #{url := Url, format := Format, secret := Secret, timeout := Timeout} = Hook,
    Request0 = #{url => Url, format => Format, timeout => Timeout, stanza => xmpp:encode(Pkt, ?NS_CLIENT),
                 delivery_id => Id},
    Request = maps:merge(Request0, maps:filter(fun(_, V) -> V /= none end,
                                               #{secret => Secret, ca_file => maps:get(ca_file, Hook)})),
    MaxInFlight = mod_rest_opt:max_in_flight(Host),
    {_, Ref} = spawn_monitor(
                 fun() ->
                         exit({done, mod_rest_port:call(webhook, Request, Timeout + ?CALL_MARGIN, MaxInFlight)})
                 end),
    Ref.

%% What a call's process exit says about the service.
-spec classify(term()) -> outcome().
classify({done, {ok, {webhook_done, Status, Reply}}}) when Status >= 200, Status =< 299 -> {ok, Reply};
classify({done, {ok, {webhook_done, 503, _}}}) -> {down, <<"HTTP 503">>};
classify({done, {ok, {webhook_done, Status, _}}}) when is_integer(Status) -> {refused, Status};
classify({done, {ok, {webhook_failed, unreachable, Detail}}}) -> {down, Detail};
classify({done, {ok, {webhook_failed, timeout, _}}}) -> timeout;
classify({done, {ok, {webhook_failed, _, Detail}}}) when is_binary(Detail) -> {bad_answer, Detail};
classify({done, {error, timeout}}) -> timeout;
classify({done, {error, Why}}) -> {down, <<"the REST worker: ", (atom_to_binary(Why, utf8))/binary>>};
classify(_) -> {bad_answer, <<"internal error">>}.

outcome({ok, Reply}, #job{pkt = Pkt, hops = Hops}, State) ->
    case reply_needed(Pkt) of
        false -> ok;
        true ->
            case {Reply, element(1, Pkt)} of
                {none, iq} -> ejabberd_router:route(xmpp:make_iq_result(Pkt));
                {none, _} -> ok;
                {El, _} ->
                    case reply_stanza(Pkt, El) of
                        {ok, R} ->
                            mod_rest_webhook_chain:remember(R, Hops + 1),
                            ejabberd_router:route(R);
                        {error, Why} ->
                            ?WARNING_MSG("mod_rest: webhook ~ts: its reply is not usable: ~ts",
                                         [State#state.name, Why]),
                            error_to_sender(Pkt, internal_server_error, <<"The service's reply is not usable">>)
                    end
            end
    end,
    count(sent, State);
outcome({down, Why}, #job{pkt = Pkt, attempt = A} = Job,
        #state{hook = #{retries := Max, retry_delay := Delay}, held = Held} = State)
  when element(1, Pkt) == message, A < Max ->
    ?WARNING_MSG("mod_rest: webhook ~ts unreachable (~ts); trying again in ~B ms",
                 [State#state.name, Why, backoff(Delay, A)]),
    erlang:send_after(backoff(Delay, A), self(), {retry, Job#job{attempt = A + 1}}),
    count(retried, State#state{held = Held + 1});
outcome({down, Why}, #job{pkt = Pkt}, State) ->
    ?WARNING_MSG("mod_rest: webhook ~ts unreachable (~ts); the sender gets an error", [State#state.name, Why]),
    error_to_sender(Pkt, recipient_unavailable, <<"The service is unreachable">>),
    count(failed, State);
outcome(timeout, #job{pkt = Pkt}, State) ->
    ?WARNING_MSG("mod_rest: webhook ~ts did not answer in time", [State#state.name]),
    error_to_sender(Pkt, remote_server_timeout, <<"The service did not answer in time">>),
    count(failed, State);
outcome({refused, Status}, #job{pkt = Pkt}, State) ->
    ?INFO_MSG("mod_rest: webhook ~ts answered HTTP ~B", [State#state.name, Status]),
    error_to_sender(Pkt, http_error(Status), <<"The service answered HTTP ", (integer_to_binary(Status))/binary>>),
    count(failed, State);
outcome({bad_answer, Why}, #job{pkt = Pkt}, State) ->
    ?WARNING_MSG("mod_rest: webhook ~ts: unusable answer (~ts)", [State#state.name, Why]),
    error_to_sender(Pkt, internal_server_error, <<"The service's answer is not usable">>),
    count(failed, State).

%% The retry delay: Delay, doubled at each attempt, at most a minute.
-spec backoff(pos_integer(), non_neg_integer()) -> pos_integer().
backoff(Delay, Attempt) ->
    min(Delay bsl min(Attempt, 16), ?MAX_RETRY_DELAY).

%% Errors and results are never answered (RFC 6120 §8.3.1: no error loops).
reply_needed(Pkt) ->
    case xmpp:get_type(Pkt) of
        error -> false;
        result -> false;
        _ -> true
    end.

error_to_sender(Pkt, Condition, Text) ->
    Lang = xmpp:get_lang(Pkt),
    Err = case Condition of
              recipient_unavailable -> xmpp:err_recipient_unavailable(Text, Lang);
              remote_server_timeout -> xmpp:err_remote_server_timeout(Text, Lang);
              bad_request -> xmpp:err_bad_request(Text, Lang);
              not_authorized -> xmpp:err_not_authorized(Text, Lang);
              forbidden -> xmpp:err_forbidden(Text, Lang);
              item_not_found -> xmpp:err_item_not_found(Text, Lang);
              not_allowed -> xmpp:err_not_allowed(Text, Lang);
              not_acceptable -> xmpp:err_not_acceptable(Text, Lang);
              conflict -> xmpp:err_conflict(Text, Lang);
              policy_violation -> xmpp:err_policy_violation(Text, Lang);
              feature_not_implemented -> xmpp:err_feature_not_implemented(Text, Lang);
              service_unavailable -> xmpp:err_service_unavailable(Text, Lang);
              internal_server_error -> xmpp:err_internal_server_error(Text, Lang)
          end,
    ejabberd_router:route_error(Pkt, Err).

%% An HTTP error status as the stanza error its sender gets (as Prosody's net.http.errors).
-spec http_error(pos_integer()) -> atom().
http_error(400) -> bad_request;
http_error(401) -> not_authorized;
http_error(403) -> forbidden;
http_error(404) -> item_not_found;
http_error(405) -> not_allowed;
http_error(406) -> not_acceptable;
http_error(409) -> conflict;
http_error(429) -> policy_violation;
http_error(501) -> feature_not_implemented;
http_error(503) -> service_unavailable;
http_error(504) -> remote_server_timeout;
http_error(S) when S >= 400, S < 500 -> bad_request;
http_error(_) -> internal_server_error.

%% The service's reply as a stanza back to the sender: to and from swapped from the original,
%% an iq's id and type (result, or error when it holds one) forced, as Prosody does.
-spec reply_stanza(xmpp:stanza(), tuple()) -> {ok, xmpp:stanza()} | {error, binary()}.
reply_stanza(Orig, {xmlel, Name, Attrs, Children}) ->
    OrigName = xmpp:get_name(Orig),
    case Name == OrigName of
        false -> {error, <<"a ", Name/binary, " in reply to a ", OrigName/binary>>};
        true ->
            HasError = lists:any(fun({xmlel, <<"error">>, _, _}) -> true; (_) -> false end, Children),
            Type0 = proplists:get_value(<<"type">>, Attrs),
            Type = case {Name, HasError} of
                       {_, true} -> <<"error">>;
                       {<<"iq">>, false} -> <<"result">>;
                       _ -> Type0
                   end,
            Id = case Name == <<"iq">> orelse Type == <<"error">> of
                     true -> xmpp:get_id(Orig);
                     false ->
                         case proplists:get_value(<<"id">>, Attrs) of
                             undefined -> p1_rand:get_string();
                             I -> I
                         end
                 end,
            From = xmpp:get_from(Orig),
            To = case Type of
                     <<"groupchat">> -> jid:remove_resource(From);
                     _ -> From
                 end,
            Kept = [{K, V} || {K, V} <- Attrs,
                              not lists:member(K, [<<"to">>, <<"from">>, <<"id">>, <<"type">>, <<"xmlns">>])],
            Attrs1 = [{<<"to">>, jid:encode(To)}, {<<"from">>, jid:encode(xmpp:get_to(Orig))},
                      {<<"id">>, Id} | Kept] ++ [{<<"type">>, Type} || Type /= undefined],
            try {ok, xmpp:decode({xmlel, Name, [{<<"xmlns">>, ?NS_CLIENT} | Attrs1], Children},
                                 ?NS_CLIENT, [ignore_els])}
            catch error:{xmpp_codec, Why} -> {error, iolist_to_binary(xmpp:format_error(Why))}
            end
    end;
reply_stanza(_Orig, _) ->
    {error, <<"not an element">>}.

%%%===================================================================
%%% Internals
%%%===================================================================
count(Name, #state{counters = C} = State) ->
    mod_rest_metrics:inc(?EVENTS_METRIC, Name),
    State#state{counters = maps:update_with(Name, fun(N) -> N + 1 end, C),
                last = {Name, erlang:system_time(second)}}.

%% The accounts webhooks take, read by hooks on every packet: a persistent term (free to read,
%% written only when a webhook starts or stops).
accounts() ->
    persistent_term:get(?ACCOUNTS, #{}).

set_accounts(Fun) ->
    persistent_term:put(?ACCOUNTS, Fun(accounts())).

%% Hooks are per vhost (offline_message_hook) or global (filter_packet); added for as long as
%% one webhook of the vhost needs them.
add_hooks(Host, Webhooks) ->
    case [H || #{accounts := [_ | _], 'when' := offline} = H <- Webhooks] of
        [] -> ok;
        _ -> ejabberd_hooks:add(offline_message_hook, Host, ?MODULE, offline_message, ?HOOK_PRIORITY)
    end,
    case [H || #{accounts := [_ | _], 'when' := always} = H <- Webhooks] of
        [] -> ok;
        _ -> ejabberd_hooks:add(filter_packet, ?MODULE, filter_packet, ?HOOK_PRIORITY)
    end.

del_hooks(Host) ->
    ejabberd_hooks:delete(offline_message_hook, Host, ?MODULE, offline_message, ?HOOK_PRIORITY),
    case [K || {always, _} = K <- maps:keys(accounts())] of
        [] -> ejabberd_hooks:delete(filter_packet, ?MODULE, filter_packet, ?HOOK_PRIORITY);
        _ -> ok
    end.

%% The URL without its query string and user info, which may hold a token: for logs.
safe_url(#{url := Url}) ->
    case uri_string:parse(re:replace(Url, <<"[{}]">>, <<>>, [global, {return, binary}])) of
        #{scheme := S, host := H} = U ->
            Port = case U of #{port := P} -> [$:, integer_to_binary(P)]; _ -> [] end,
            iolist_to_binary([S, "://", H, Port, maps:get(path, U, <<>>)]);
        _ -> <<"(unparsable URL)">>
    end.

sources(#{domain := Domain, accounts := Accounts, 'when' := When}) ->
    D = case Domain of none -> []; _ -> [Domain] end,
    A = [iolist_to_binary([jid:encode(J), " (", atom_to_binary(When, utf8), ")"]) || J <- Accounts],
    iolist_to_binary(lists:join(<<", ">>, D ++ A)).
