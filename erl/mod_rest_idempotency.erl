%% SPDX-License-Identifier: GPL-2.0-or-later
%%%----------------------------------------------------------------------
%%% mod_rest_idempotency: the Idempotency-Key request header on POST
%%% (draft-ietf-httpapi-idempotency-key-header), cluster-wide.
%%%
%%% The first POST with a key is carried out and its answer kept; a repeat within the key's
%%% lifetime gets the kept answer (marked Idempotent-Replayed: true) and does nothing; a repeat
%%% while the first is still being carried out gets 409 with Retry-After; the same key with
%%% another request (method, path, a SHA-256 of the body) gets 422.
%%%
%%% Keys belong to their caller: an authenticated request's to its account (the credentials are
%%% checked before anything kept is looked at, so a key never returns another caller's answer),
%%% a request without credentials to the pair (vhost, client address) -- the address ejabberd
%%% believes, i.e. the X-Forwarded-For client when the peer is one of trusted_proxies.
%%%
%%% Storage is ejabberd's own: a Mnesia ram_copies table on every node that runs mod_rest
%%% (created with ejabberd_mnesia:create/3, as mod_bosh and mod_stream_mgmt do), so that a retry
%%% a load balancer sends to the other node is recognised. In a cluster a key is claimed in a
%%% transaction: two nodes cannot both carry out the same key. On a node whose copy is the only
%%% one (no cluster, the usual case) the table is read and written as the ETS table it is, as
%%% Mnesia's own ets access context (mnesia:ets/1) does for a table without other copies: the
%%% claim is an ets:insert_new of the pending row, the answer an ets:insert over it. A
%%% transaction costs ~45 us, a third of what a whole request costs the VM, and a dirty write
%%% several table lookups of Mnesia's before the insert. A second node that joins copies the
%%% table, pending rows and answers alike. Per vhost the table is bounded by
%%% idempotency_max_keys and idempotency_max_bytes (counted on each node, made exact from the
%%% whole table at every sweep); past 90% of a bound the oldest finished keys are forgotten first.
%%% One sweeper per node (this gen_server) forgets expired keys and applies the bounds.
%%%----------------------------------------------------------------------
-module(mod_rest_idempotency).
-behaviour(gen_server).

-export([start/0, stop/0, start_link/0, around/5]).
%% Pure helpers, exported for the EUnit tests
-export([parse_key/1, fingerprint/3, entry_bytes/2, evictable/4, keepable/1]).
%% The claim on a node alone, on the ETS table named as the Mnesia table: for the EUnit tests.
-export([claim_alone/2, replaced/2]).
-export([init/1, handle_call/3, handle_cast/2, handle_info/2, terminate/2, code_change/3]).

-include("logger.hrl").

-define(TAB, mod_rest_idempotency).
%% Per vhost, the finished keys this node believes the table holds: {Host, Entries, Bytes}.
-define(USAGE, mod_rest_idempotency_usage_counts).
%% The replicated counters of earlier versions, dropped at start.
-define(OLD_USAGE, mod_rest_idempotency_usage).
-define(SECRET, {?MODULE, secret}).
%% The keys this node kept, oldest first: {{Host, Created, Id}}. Eviction walks it rather than
%% scanning the table: a scan of 90,000 keys per tenth of the bound cost ~40 us per request.
-define(ORDER, mod_rest_idempotency_order).
-define(HEADER, <<"idempotency-key">>).
%% A key is an opaque string (the draft's sf-string); a UUID is 36 bytes.
-define(MAX_KEY_BYTES, 255).
%% What an entry costs beside its answer (the tuple, the fingerprint, the ids), roughly.
-define(ENTRY_OVERHEAD, 256).
%% Past this share of a bound the sweeper evicts, in the background, down to the lower share:
%% once per tenth of the bound, and no request waits for it unless the bound itself is reached.
-define(EVICT_FROM_PERCENT, 90).
-define(EVICT_TO_PERCENT, 80).
-define(METRIC, mod_rest_idempotency_total).
-define(METRIC_KEYS, mod_rest_idempotency_keys).
-define(OUTCOMES, [carried_out, replayed, in_flight, mismatch, invalid, expired, evicted, not_kept]).

-record(rest_idempotency,
        {id :: {binary(), term(), binary()},            % {Host, Scope, Key}
         fingerprint :: binary(),
         state :: {pending, pid()} | done,
         answer :: answer() | undefined,                 % mod_rest's http answer, once done
         bytes = 0 :: non_neg_integer(),                 % entry_bytes/2 once done, 0 while pending
         created :: integer(),                           % system time, ms
         expires :: integer()}).                         % system time, ms

-type answer() :: {pos_integer(), binary(), [{binary(), binary()}], iodata()}.
-type outcome() :: {done | nothing_done, answer()}.

%%%===================================================================
%%% Node-wide start and stop (from mod_rest:start/2 and stop/1)
%%%===================================================================
-spec start() -> ok | {error, term()}.
start() ->
    mod_rest_metrics:declare(?METRIC, counter,
                             <<"Requests with an Idempotency-Key, by what became of the key.">>,
                             outcome, ?OUTCOMES),
    mod_rest_metrics:declare(?METRIC_KEYS, gauge,
                             <<"Idempotency keys kept on this node's copy, all vhosts.">>, none, []),
    mod_rest_singleton:ensure_started(?MODULE, 5000).

-spec stop() -> ok.
stop() -> mod_rest_singleton:stop(?MODULE).

-spec start_link() -> {ok, pid()} | {error, term()}.
start_link() ->
    gen_server:start_link({local, ?MODULE}, ?MODULE, [], []).

%%%===================================================================
%%% The request path
%%%===================================================================
%% Carries out a request through Run (which answers {done | nothing_done, Answer}) unless its
%% key says it was already. Context is mod_rest's; the account checked here is handed to Run
%% in it (mod_rest_api then checks nothing twice).
-spec around([binary()], atom() | binary(), binary(), map(), fun((map()) -> outcome())) -> answer().
around(LocalPath, 'POST', Data, #{headers := Headers} = Context, Run) ->
    case mod_rest_api:header_values(?HEADER, Headers) of
        [] -> answer_of(Run(Context));
        [Value] ->
            case parse_key(Value) of
                {ok, Key} -> keyed(Key, fingerprint(<<"POST">>, LocalPath, Data), Context, Run);
                error -> refuse(invalid, Context)
            end;
        _ -> refuse(invalid, Context)
    end;
around(_LocalPath, _Method, _Data, Context, Run) ->
    answer_of(Run(Context)).

keyed(Key, Fingerprint, #{host := Host, opts := Opts} = Context, Run) ->
    case scope(Context) of
        {refused, Answer} -> Answer;
        {ok, Scope, Context1} ->
            Id = {Host, Scope, Key},
            Now = erlang:system_time(millisecond),
            Pending = #rest_idempotency{id = Id, fingerprint = Fingerprint, state = {pending, self()},
                                        created = Now, expires = Now + pending_deadline(Opts)},
            case claim(Pending) of
                {claimed, OldBytes} ->
                    carry_out(Pending, OldBytes, Key, Context1, Run);
                {replay, Answer} ->
                    count(replayed),
                    replayed(Answer);
                in_flight ->
                    count(in_flight),
                    refuse(in_flight, Context1);
                mismatch ->
                    count(mismatch),
                    refuse(mismatch, Context1)
            end
    end.

%% The pending row is this request's claim; OldBytes those of the expired entry it replaced
%% (none if the key was free or held by a dead owner's claim). Usage counts finished keys only: a pending row weighs nothing
%% until its answer replaces it.
carry_out(#rest_idempotency{id = {Host, _, _} = Id, created = Now} = Pending, OldBytes, Key,
          #{opts := Opts} = Context, Run) ->
    Outcome = try Run(Context)
              catch Class:Reason:Stack ->
                      let_go(Pending, OldBytes),
                      erlang:raise(Class, Reason, Stack)
              end,
    {_, Answer} = Outcome,
    Kept = kept_answer(Answer),
    Bytes = entry_bytes(Key, Kept),
    case keepable(Outcome) andalso Bytes =< mod_rest_opt:idempotency_max_bytes(Opts) of
        true ->
            keep(Pending#rest_idempotency{state = done, answer = Kept, bytes = Bytes,
                                          expires = Now + mod_rest_opt:idempotency_key_lifetime(Opts)}),
            ets:insert(?ORDER, {{Host, Now, Id}}),
            bound(Host, Opts, case OldBytes of
                                  none -> usage(Host, 1, Bytes);
                                  _ -> usage(Host, 0, Bytes - OldBytes)
                              end),
            count(carried_out);
        false ->
            let_go(Pending, OldBytes),
            count(not_kept)
    end,
    Answer.

%% The answer replaces the pending row. In a cluster it is on every node before its client has
%% it: a retry that a load balancer sends to another node at once is replayed there, not told
%% 409 because the asynchronous copy of a dirty write had not arrived yet. Alone (asked again:
%% a node may have joined while the request ran), there is no other copy to write.
keep(Record) ->
    case alone() of
        true -> ets:insert(?TAB, Record);
        false -> ok = mnesia:sync_dirty(fun() -> mnesia:write(?TAB, Record, write) end)
    end.

%% Nothing is kept for the key: a later request with it is carried out afresh. The pending row
%% goes (unless another request took the key over since), and the expired entry it replaced
%% leaves the counts.
let_go(#rest_idempotency{id = {Host, _, _}} = Pending, OldBytes) ->
    ok = mnesia:dirty_delete_object(?TAB, Pending),
    _ = OldBytes /= none andalso usage(Host, -1, -OldBytes),
    ok.

%% Whether this node holds the only copy of the table (no cluster, or the others are down).
alone() ->
    case mnesia:table_info(?TAB, where_to_write) of
        [Node] -> Node == node();
        _ -> false
    end.

%% Whether an answer is kept for the key: not when nothing was done and the client should
%% simply try again (the worker busy or gone, the credentials refused, a rate limit).
-spec keepable(outcome()) -> boolean().
keepable({nothing_done, _}) -> false;
keepable({done, {Status, _, _, _}}) -> not lists:member(Status, [401, 429, 503]).

kept_answer({Status, Reason, Headers, Body}) ->
    {Status, Reason, Headers, iolist_to_binary(Body)}.

replayed({Status, Reason, Headers, Body}) ->
    {Status, Reason, [{<<"Idempotent-Replayed">>, <<"true">>} | Headers], Body}.

%% What an entry weighs against idempotency_max_bytes.
-spec entry_bytes(binary(), answer()) -> pos_integer().
entry_bytes(Key, {_Status, _Reason, Headers, Body}) ->
    ?ENTRY_OVERHEAD + byte_size(Key) + iolist_size(Body)
        + lists:sum([byte_size(N) + byte_size(V) || {N, V} <- Headers]).

answer_of({_, Answer}) -> Answer.

%% The key as sent: the draft's sf-string ("..."), or a bare token, as clients also send it;
%% 1 to 255 bytes of printable ASCII.
-spec parse_key(binary()) -> {ok, binary()} | error.
parse_key(Value) ->
    Key = case trim(Value) of
              <<$", Rest/binary>> when byte_size(Rest) >= 1 ->
                  case binary:last(Rest) of
                      $" -> binary:part(Rest, 0, byte_size(Rest) - 1);
                      _ -> <<>>
                  end;
              Trimmed -> Trimmed
          end,
    case byte_size(Key) >= 1 andalso byte_size(Key) =< ?MAX_KEY_BYTES andalso printable(Key) of
        true -> {ok, Key};
        false -> error
    end.

%% Header whitespace (space and tab) off both ends: on every keyed request, so no string:trim.
trim(<<C, Rest/binary>>) when C == $\s; C == $\t -> trim(Rest);
trim(Value) -> trim_end(Value, byte_size(Value)).

trim_end(Value, N) when N > 0 ->
    case binary:at(Value, N - 1) of
        C when C == $\s; C == $\t -> trim_end(Value, N - 1);
        _ -> binary:part(Value, 0, N)
    end;
trim_end(_Value, 0) -> <<>>.

printable(<<C, Rest/binary>>) when C >= 16#21, C =< 16#7e, C /= $" -> printable(Rest);
printable(<<>>) -> true;
printable(_) -> false.

%% What a repeat must match: the method, the path and a SHA-256 of the body behind a secret (the
%% cluster's cookie, the same on every node), because a legacy body can hold an --auth
%% password: a plain hash kept in RAM could be brute-forced from a memory dump. A secret prefix
%% rather than an HMAC: the fingerprint is only ever compared, never shown (so length extension
%% gives nothing), and OpenSSL 3's HMAC costs four times the hash (1.7 against 0.45 us).
-spec fingerprint(binary(), [binary()], binary()) -> binary().
fingerprint(Method, LocalPath, Body) ->
    Path = iolist_to_binary([[$/, Segment] || Segment <- LocalPath]),
    crypto:hash(sha256, [secret(), 0, Method, 0, Path, 0, Body]).

%% erlang:get_cookie/0 is a call to the auth server: read once per node, when first needed.
secret() ->
    case persistent_term:get(?SECRET, undefined) of
        undefined ->
            Secret = atom_to_binary(erlang:get_cookie(), utf8),
            persistent_term:put(?SECRET, Secret),
            Secret;
        Secret -> Secret
    end.

%% Whose key it is. With credentials: the account, once they are checked (a refusal is the
%% answer, and the account travels on so that nothing is checked twice).
scope(#{credentials := none, ip := IP} = Context) ->
    {ok, {address, IP}, Context};
scope(#{credentials := _} = Context) ->
    case mod_rest_api:checked_account(Context) of
        {ok, Account} ->
            {ok, {account, jid:tolower(jid:remove_resource(Account))}, Context#{account => Account}};
        {refused, Outcome} ->
            {refused, mod_rest:document(Outcome)}
    end.

%% A pending key whose owner is still at work after this long is taken over: the request
%% deadline, the longest iq wait, and some.
pending_deadline(Opts) ->
    mod_rest_opt:request_timeout(Opts) * 2 + mod_rest_opt:iq_max_timeout(Opts) + 5000.

%% The claim: the pending row in place of nothing, or of an entry that expired or whose owner
%% is gone. With other copies of the table (a cluster), in a transaction: of two nodes claiming
%% one key at once, one wins. Alone, by ETS's own atomic operations on this node's copy.
claim(Pending) ->
    case alone() of
        true -> claim_alone(Pending, 3);
        false -> claim_in_cluster(Pending)
    end.

%% Attempts bound the rounds against entries that keep changing under the claim.
claim_alone(_Pending, 0) ->
    in_flight;
claim_alone(#rest_idempotency{id = Id, fingerprint = Fingerprint, created = Now} = Pending, Attempts) ->
    case ets:insert_new(?TAB, Pending) of
        true -> {claimed, none};
        false ->
            case ets:lookup(?TAB, Id) of
                [] -> claim_alone(Pending, Attempts - 1);
                [Old] ->
                    case decide(Old, Fingerprint, Now) of
                        take ->
                            case replaced(Old, Pending) of
                                true -> {claimed, counted(Old)};
                                false -> claim_alone(Pending, Attempts - 1)
                            end;
                        Other -> Other
                    end
            end
    end.

%% Pending in place of Old, only if the row is still Old: of two requests that decided to take
%% over one entry, one does (compared in a guard: an answer is data, not a pattern).
replaced(#rest_idempotency{id = Id} = Old, Pending) ->
    Still = [{'=:=', '$_', {const, Old}}],
    ets:select_replace(?TAB, [{#rest_idempotency{id = Id, _ = '_'}, Still, [{const, Pending}]}]) == 1.

%% What an entry a claim replaces weighed in the counts: its bytes once finished; nothing (none,
%% as a free key) while pending, since the counts hold finished keys only.
counted(#rest_idempotency{state = done, bytes = Bytes}) -> Bytes;
counted(#rest_idempotency{}) -> none.

claim_in_cluster(#rest_idempotency{id = Id, fingerprint = Fingerprint, created = Now} = Pending) ->
    F = fun() ->
                case mnesia:read(?TAB, Id, write) of
                    [] ->
                        mnesia:write(?TAB, Pending, write),
                        {claimed, none};
                    [#rest_idempotency{} = Old] ->
                        case decide(Old, Fingerprint, Now) of
                            take ->
                                mnesia:write(?TAB, Pending, write),
                                {claimed, counted(Old)};
                            Other -> Other
                        end
                end
        end,
    case mnesia:transaction(F) of
        {atomic, Result} -> Result;
        {aborted, Why} -> erlang:error({idempotency_claim_aborted, Why})
    end.

decide(#rest_idempotency{expires = Expires}, _Fingerprint, Now) when Expires =< Now -> take;
decide(#rest_idempotency{fingerprint = Other}, Fingerprint, _Now) when Other /= Fingerprint -> mismatch;
decide(#rest_idempotency{state = done, answer = Kept}, _Fingerprint, _Now) -> {replay, Kept};
decide(#rest_idempotency{state = {pending, Owner}}, _Fingerprint, _Now) ->
    case owner_gone(Owner) of
        true -> take;
        false -> in_flight
    end.

%% The process carrying out a key is gone when its node left the cluster or, on this node,
%% when it died (a crash is answered 500 and forgets the key itself; this is the rest).
owner_gone(Pid) when node(Pid) == node() -> not is_process_alive(Pid);
owner_gone(Pid) -> not lists:member(node(Pid), nodes()).

%% Counted on this node (the answers it writes, the entries it replaces or forgets), made exact
%% from the whole table at every sweep: one counter update per key. A replicated counter cost two
%% more Mnesia writes per key, as much as the key itself; in a cluster each node then counts the
%% others' keys only from its last sweep (docs/retries.md).
usage(Host, Entries, Bytes) ->
    [E, B] = ets:update_counter(?USAGE, Host, [{2, Entries}, {3, Bytes}], {Host, 0, 0}),
    {E, B}.

usage(Host) ->
    case ets:lookup(?USAGE, Host) of
        [{_, Entries, Bytes}] -> {Entries, Bytes};
        [] -> {0, 0}
    end.

%% Past 90% of a bound this node's sweeper is asked to forget the oldest keys, in the
%% background; at the bound itself the request waits for it, as every request of this node
%% then does in turn, so that a flood of keys cannot outrun it.
bound(Host, Opts, {Entries, Bytes}) ->
    MaxKeys = mod_rest_opt:idempotency_max_keys(Opts),
    MaxBytes = mod_rest_opt:idempotency_max_bytes(Opts),
    if Entries > MaxKeys; Bytes > MaxBytes ->
            %% A sweeper too slow to answer lets the request go on: the next key tries again.
            try gen_server:call(?MODULE, {evict, Host}, 10000)
            catch exit:_ -> ok
            end;
       Entries > MaxKeys * ?EVICT_FROM_PERCENT div 100;
       Bytes > MaxBytes * ?EVICT_FROM_PERCENT div 100 ->
            gen_server:cast(?MODULE, {evict, Host});
       true -> ok
    end.

count(Outcome) ->
    mod_rest_metrics:inc(?METRIC, Outcome).

%% mod_rest's answers for refusals of its own: the API's are rendered by the worker (its
%% catalogue: the caller's format); the original protocol's are its plain text.
refuse(Why, #{credentials := Credentials} = Context) ->
    {Status, Code, Body} = case Why of
                               invalid ->
                                   count(invalid),
                                   {400, <<"IDEMPOTENCY_KEY_INVALID">>,
                                    <<"Error: the Idempotency-Key header must be one key of 1 to 255 printable ASCII characters.">>};
                               in_flight ->
                                   {409, <<"IDEMPOTENCY_KEY_IN_FLIGHT">>,
                                    <<"Error: a request with this Idempotency-Key is still being carried out; try again.">>};
                               mismatch ->
                                   {422, <<"IDEMPOTENCY_KEY_REUSED">>,
                                    <<"Error: this Idempotency-Key was used for another request.">>}
                           end,
    {S, Reason, Headers, B} = case Credentials of
                                  none -> mod_rest:answer(Status, Body);
                                  _ -> mod_rest:document(mod_rest_api:refusal(Status, Code, Context))
                              end,
    case Why of
        in_flight -> {S, Reason, [{<<"Retry-After">>, <<"1">>} | Headers], B};
        _ -> {S, Reason, Headers, B}
    end.

%%%===================================================================
%%% The sweeper: one per node
%%%===================================================================
init([]) ->
    ok = create_tables(),
    ets:new(?USAGE, [named_table, public, set, {write_concurrency, true}]),
    ets:new(?ORDER, [named_table, public, ordered_set, {write_concurrency, true}]),
    erlang:send_after(sweep_interval(), self(), sweep),
    {ok, #{}}.

create_tables() ->
    %% Keys are a cache of answers: a table of an older layout is dropped, as mod_bosh does.
    _ = [mnesia:delete_table(Tab)
         || {Tab, Fields} <- [{?TAB, record_info(fields, rest_idempotency)}, {?OLD_USAGE, none}],
            begin
                Now = try mnesia:table_info(Tab, attributes) catch exit:_ -> Fields end,
                Now /= Fields
            end],
    {atomic, ok} = ejabberd_mnesia:create(?MODULE, ?TAB,
                                          [{ram_copies, [node()]},
                                           {record_name, rest_idempotency},
                                           {attributes, record_info(fields, rest_idempotency)}]),
    ok.

handle_call({evict, Host}, _From, State) ->
    evict_if_needed(Host),
    {reply, ok, State};
handle_call(_Request, _From, State) ->
    {reply, {error, unknown_call}, State}.

handle_cast({evict, Host}, State) ->
    evict_if_needed(Host),
    {noreply, State};
handle_cast(_Msg, State) ->
    {noreply, State}.

%% Asked by many requests at once: only the first finds the vhost still past the mark. The
%% oldest keys this node kept go first; if that is not enough (keys other nodes kept, or kept
%% before this node restarted), the table is scanned.
evict_if_needed(Host) ->
    Opts = gen_mod:get_module_opts(Host, mod_rest),
    MaxKeys = mod_rest_opt:idempotency_max_keys(Opts),
    MaxBytes = mod_rest_opt:idempotency_max_bytes(Opts),
    case past(Host, MaxKeys, MaxBytes, ?EVICT_FROM_PERCENT) of
        false -> ok;
        true ->
            evict_oldest(Host, MaxKeys, MaxBytes),
            _ = past(Host, MaxKeys, MaxBytes, ?EVICT_FROM_PERCENT)
                andalso sweep(Host, Opts, erlang:system_time(millisecond)),
            ok
    end.

past(Host, MaxKeys, MaxBytes, Percent) ->
    {Entries, Bytes} = usage(Host),
    Entries > MaxKeys * Percent div 100 orelse Bytes > MaxBytes * Percent div 100.

%% The oldest rows of ?ORDER first, a thousand at a time, down to 80% of both bounds; rows of
%% keys since replaced (a new claim after expiry) or forgotten are dropped on the way. An entry
%% goes only as it was read (delete_object): one taken over meanwhile stays. Alone, from the
%% table's local copy directly, as the requests write it; in a cluster, from every copy.
evict_oldest(Host, MaxKeys, MaxBytes) ->
    {Entries, Bytes} = usage(Host),
    Target = {MaxKeys * ?EVICT_TO_PERCENT div 100, MaxBytes * ?EVICT_TO_PERCENT div 100},
    Delete = case alone() of
                 true -> fun(Entry) -> ets:delete_object(?TAB, Entry) end;
                 false -> fun(Entry) -> mnesia:dirty_delete_object(?TAB, Entry) end
             end,
    Oldest = ets:select(?ORDER, [{{{Host, '_', '_'}}, [], ['$_']}], 1000),
    {Keys, Freed} = evict_rows(Oldest, Entries, Bytes, Target, Delete, {0, 0}),
    _ = Keys > 0 andalso usage(Host, -Keys, -Freed),
    mod_rest_metrics:inc(?METRIC, evicted, Keys).

evict_rows(_Rows, Entries, Bytes, {KeysTo, BytesTo}, _Delete, Evicted)
  when Entries =< KeysTo, Bytes =< BytesTo ->
    Evicted;
evict_rows('$end_of_table', _Entries, _Bytes, _Target, _Delete, Evicted) ->
    Evicted;
evict_rows({[], Continuation}, Entries, Bytes, Target, Delete, Evicted) ->
    evict_rows(ets:select(Continuation), Entries, Bytes, Target, Delete, Evicted);
evict_rows({[{{_Host, Created, Id}} = Row | Rows], Continuation}, Entries, Bytes, Target, Delete,
           {Keys, Freed} = Evicted) ->
    ets:delete_object(?ORDER, Row),
    case ets:lookup(?TAB, Id) of
        [#rest_idempotency{created = Created, state = done, bytes = B} = Entry] ->
            Delete(Entry),
            evict_rows({Rows, Continuation}, Entries - 1, Bytes - B, Target, Delete, {Keys + 1, Freed + B});
        _ ->
            evict_rows({Rows, Continuation}, Entries, Bytes, Target, Delete, Evicted)
    end.

%% After a sweep: the oldest rows whose keys are gone (expired, evicted by a scan) go too.
trim_order(Host, {Host, Created, Id} = Row) ->
    case ets:lookup(?TAB, Id) of
        [#rest_idempotency{created = Created}] -> ok;
        _ ->
            Next = ets:next(?ORDER, Row),
            ets:delete(?ORDER, Row),
            trim_order(Host, Next)
    end;
trim_order(_Host, _EndOrAnotherHost) ->
    ok.

handle_info(sweep, State) ->
    Now = erlang:system_time(millisecond),
    _ = [try sweep(Host, gen_mod:get_module_opts(Host, mod_rest), Now)
         catch Class:Reason ->
                 ?WARNING_MSG("mod_rest: sweeping the idempotency keys of ~ts failed: ~p:~p",
                              [Host, Class, Reason])
         end
         || Host <- ejabberd_option:hosts(), gen_mod:is_loaded(Host, mod_rest)],
    mod_rest_metrics:set(?METRIC_KEYS, none, mnesia:table_info(?TAB, size)),
    erlang:send_after(sweep_interval(), self(), sweep),
    {noreply, State};
handle_info(_Info, State) ->
    {noreply, State}.

terminate(_Reason, _State) ->
    ok.

code_change(_OldVsn, State, _Extra) ->
    {ok, State}.

%% Every tenth of the shortest lifetime, between 1 s and a minute.
sweep_interval() ->
    Lifetimes = [mod_rest_opt:idempotency_key_lifetime(Host)
                 || Host <- ejabberd_option:hosts(), gen_mod:is_loaded(Host, mod_rest)],
    max(1000, min(60000, lists:min([timer:minutes(10) | Lifetimes]) div 10)).

%% Forgets the vhost's expired keys, then its oldest finished ones while a bound is passed,
%% and writes the vhost's usage as it now is.
sweep(Host, Opts, Now) ->
    %% The fields the bounds need, not the kept answers.
    Head = #rest_idempotency{id = '$1', created = '$2', expires = '$3', bytes = '$4', state = '$5', _ = '_'},
    Found = mnesia:dirty_select(?TAB, [{Head, [{'==', {element, 1, '$1'}, Host}],
                                        [{{'$1', '$2', '$3', '$4', '$5'}}]}]),
    Summaries = [{Id, Created, Expires, Bytes, State == done} || {Id, Created, Expires, Bytes, State} <- Found],
    {Expired, Evicted} = evictable(Summaries, Now, mod_rest_opt:idempotency_max_keys(Opts),
                                   mod_rest_opt:idempotency_max_bytes(Opts)),
    _ = [mnesia:dirty_delete(?TAB, Id) || Id <- Expired ++ Evicted],
    mod_rest_metrics:inc(?METRIC, expired, length(Expired)),
    mod_rest_metrics:inc(?METRIC, evicted, length(Evicted)),
    Gone = sets:from_list(Expired ++ Evicted, [{version, 2}]),
    %% Finished keys only, as the requests count them: a pending row weighs nothing yet.
    Left = [S || {Id, _, _, _, true} = S <- Summaries, not sets:is_element(Id, Gone)],
    ets:insert(?USAGE, {Host, length(Left), lists:sum([B || {_, _, _, B, _} <- Left])}),
    trim_order(Host, ets:next(?ORDER, {Host, -1, 0})).

%% Which entries go: the expired ones, then, past 90% of a bound, the oldest finished ones until
%% the entries are at most 80% of both bounds. Keys being carried out are never evicted.
-spec evictable([{term(), integer(), integer(), non_neg_integer(), boolean()}], integer(),
                pos_integer(), pos_integer()) -> {[term()], [term()]}.
evictable(Summaries, Now, MaxKeys, MaxBytes) ->
    {Expired, Live} = lists:partition(fun({_, _, Expires, _, _}) -> Expires =< Now end, Summaries),
    Count = length(Live),
    Bytes = lists:sum([B || {_, _, _, B, _} <- Live]),
    Evicted = case Count > MaxKeys * ?EVICT_FROM_PERCENT div 100
                  orelse Bytes > MaxBytes * ?EVICT_FROM_PERCENT div 100 of
                  false -> [];
                  true ->
                      Oldest = lists:keysort(2, [S || {_, _, _, _, true} = S <- Live]),
                      evict(Oldest, Count, Bytes, MaxKeys * ?EVICT_TO_PERCENT div 100,
                            MaxBytes * ?EVICT_TO_PERCENT div 100, [])
              end,
    {[Id || {Id, _, _, _, _} <- Expired], Evicted}.

evict([{Id, _, _, B, _} | Rest], Count, Bytes, KeysTo, BytesTo, Acc)
  when Count > KeysTo; Bytes > BytesTo ->
    evict(Rest, Count - 1, Bytes - B, KeysTo, BytesTo, [Id | Acc]);
evict(_, _Count, _Bytes, _KeysTo, _BytesTo, Acc) ->
    lists:reverse(Acc).
