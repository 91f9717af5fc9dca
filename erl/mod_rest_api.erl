%% SPDX-License-Identifier: GPL-2.0-or-later
%%%----------------------------------------------------------------------
%%% mod_rest_api: the authenticated API, in the VM: a stanza is sent as the account whose
%%% credentials came with the request (HTTP Basic, or an OAuth Bearer token checked by
%%% mod_rest_oauth), never as anyone else; an iq waits for its
%%% reply, which is the HTTP answer.
%%%
%%% The worker has parsed the body and applied the vhost's policy (api_allowed_ips,
%%% allowed_destinations, allowed_stanza_types); it never sees a password. Here, in this
%%% order: the credentials (ejabberd's auth, the same failure limit and timing as --auth),
%%% api_access, the XMPP codec, the sender (stamped with the account's bare JID when absent,
%%% kept when it is the account's bare or full JID, 403 otherwise), then user_send_packet and
%%% the router, as for a client's own stanza. An iq goes through ejabberd_router:route_iq/4,
%%% which gives it a unique signed id, so that no caller ever gets another's reply.
%%%----------------------------------------------------------------------
-module(mod_rest_api).

-export([header_values/2]).
-export([send/2, route_one/2, echo/2, archive/2, bearer_command/1, refusal/3, negotiation/1, credentials/2,
         authenticate_first/2,
         basic_auth/2, decode_stanza/1, checked_account/1, with_id/1, iq_status/1, iq_timeout/2, run_send_hook/2]).
-define(TIMEOUT_HEADER, <<"prosody-rest-timeout">>).

-include("logger.hrl").

-define(NS_CLIENT, <<"jabber:client">>).
-define(XML, <<"application/xmpp+xml">>).

-type credentials() :: none | invalid | {basic, binary(), binary()} | {bearer, binary()}.
-type context() :: #{host := binary(), ip := inet:ip_address(), opts := gen_mod:opts(),
                     credentials := credentials(), headers := [{atom() | binary(), binary()}],
                     query => [{binary(), binary()}],
                     %% The HTTP connection, to see whether its client is still there.
                     connection => mod_rest_iq_waits:connection(),
                     %% The account, once its credentials are checked (authenticate_first/2).
                     account => jid:jid()}.
%% What mod_rest turns into an HTTP answer: status, extra headers, content type, body.
-type outcome() :: {pos_integer(), [{binary(), binary()}], binary(), binary()}.
-export_type([credentials/0, context/0, outcome/0]).

%% The credentials ejabberd_http parsed from the Authorization header; when it read none, the
%% header as sent: ejabberd_http knows the schemes only as `Basic` and `Bearer`, and a scheme's
%% case does not matter (RFC 9110 §11.1): Prosody's clients may send `basic`.
-spec credentials(undefined | invalid | {binary(), binary()} | {oauth, binary(), term()},
                  [{atom() | binary(), binary()}]) -> credentials().
credentials(Parsed, Headers) when Parsed == undefined; Parsed == invalid ->
    case [V || {'Authorization', V} <- Headers] of
        [] -> none;
        [Header | _] -> authorization(Header)
    end;
credentials({User, Password}, _) when is_binary(User), is_binary(Password) -> {basic, User, Password};
credentials({oauth, Token, _}, _) -> {bearer, Token};
credentials(_, _) -> invalid.

authorization(Header) ->
    case binary:split(string:trim(Header), <<" ">>) of
        [Scheme, Value] ->
            case {string:lowercase(Scheme), string:trim(Value)} of
                {<<"bearer">>, Token} when Token /= <<>> -> {bearer, Token};
                {<<"basic">>, Encoded} ->
                    try binary:split(base64:decode(Encoded), <<":">>) of
                        [User, Password] -> {basic, User, Password};
                        _ -> invalid
                    catch error:_ -> invalid
                    end;
                _ -> invalid
            end;
        _ -> invalid
    end.

%% The credentials checked before the body goes to the worker (security issue 16, item 3): a
%% Basic or Bearer header is decided without the body, so a request it does not admit costs a
%% password check, never a parse of megabytes. A peer api_allowed_ips does not admit, and a
%% browser's Basic credentials from another site, are left to the worker's 403 (no password is
%% tried); the API's description is public.
-spec authenticate_first([binary()], context()) -> {ok, context()} | {refused, outcome()}.
authenticate_first([<<"openapi.json">>], Context) -> {ok, Context};
authenticate_first(_LocalPath, #{credentials := none} = Context) -> {ok, Context};
authenticate_first(_LocalPath, #{ip := IP, opts := Opts} = Context) ->
    case mod_rest_ops:ip_allowed(IP, mod_rest_opt:api_allowed_ips(Opts))
        andalso not basic_from_another_site(Context) of
        false -> {ok, Context};
        true ->
            try {ok, Context#{account => account(Context)}}
            catch throw:{refused, Status, Code} -> {refused, refusal(Status, Code, Context)}
            end
    end.

%% A page of another site sent Basic credentials (a browser adds those it holds by itself): the
%% worker refuses it 403 before it reads the body (browser.ts: BROWSER_BASIC, or the origin not
%% listed). A 401 here would make the browser ask its user for a password, on that page's behalf.
basic_from_another_site(#{credentials := {basic, _, _}, browser := #{fetch_site := Site}}) ->
    lists:member(ascii_lowercase(Site), [<<"cross-site">>, <<"same-site">>]);
basic_from_another_site(_Context) ->
    false.

%% Sends El as the authenticated account.
-spec send(fxml:xmlel(), context()) -> outcome().
send(El, #{opts := Opts, headers := Headers} = Context) ->
    answer(fun() -> deliver(bound(El, Context), iq_timeout(Headers, Opts), Context) end, Context).

%% One item of a batch (mod_rest_batch): a message or presence sent as send/2 sends it; its
%% stanza id. An iq, whose answer is its reply, never (the worker refused it already).
-spec route_one(fxml:xmlel(), context()) -> binary().
route_one(El, #{ip := IP} = Context) ->
    Pkt = bound(El, Context),
    element(1, Pkt) /= iq orelse throw({refused, 422, <<"BATCH_IQ">>}),
    xmpp:get_id(routed(Pkt, IP)).

%% POST /rest/echo: El as it would be sent (the sender bound, the codec's view), sending nothing.
-spec echo(fxml:xmlel(), context()) -> outcome().
echo(El, Context) ->
    answer(fun() -> {stanza, 200, xmpp:encode(bound(El, Context))} end, Context).

%% GET /rest/archive/{to}: the MAM query iq sent as the account, its result messages
%% collected by mod_rest_mam. The answer is Prosody's: the iq reply alone when no message
%% came, otherwise <xmpp> holding the messages, in order, and then the reply.
-spec archive(fxml:xmlel(), context()) -> outcome().
archive(El, #{ip := IP, opts := Opts, headers := Headers} = Context) ->
    answer(fun() ->
                   IQ = own_archive(bound(El, Context)),
                   case waiting(IQ, Context,
                                fun() -> mod_rest_mam:query(IQ, fun(Pkt) -> hooked(Pkt, IP) end,
                                                            iq_timeout(Headers, Opts),
                                                            maps:get(connection, Context, none))
                                end) of
                       timeout -> no_reply();
                       {Sent, Reply, []} -> reply(Sent, Reply);
                       {Sent, Reply, Msgs} ->
                           {stanza, Status, ReplyEl} = reply(Sent, Reply),
                           {stanza, Status, {xmlel, <<"xmpp">>, [], [xmpp:encode(M) || M <- Msgs] ++ [ReplyEl]}}
                   end
           end, Context).

%% ejabberd's mod_mam answers a query sent to another user of a served vhost with the
%% sender's own archive: refused instead of answered as if it were theirs. Rooms and other
%% servers' archives decide for themselves.
own_archive(IQ) ->
    {_, ToServer, _} = To = jid:tolower(jid:remove_resource(xmpp:get_to(IQ))),
    case lists:member(ToServer, ejabberd_option:hosts())
        andalso To /= jid:tolower(jid:remove_resource(xmpp:get_from(IQ))) of
        true -> throw({refused, 403, <<"NOT_OWN_ARCHIVE">>});
        false -> IQ
    end.

%% A command line sent with a Bearer token: the token is checked as for a stanza (a bad one
%% gets the same 401, and counts as a failure), then the command is refused. Commands need
%% the account's password (Basic or --auth); a token, long-lived and handed to programs,
%% only sends stanzas, so that one issued to send messages cannot run admin commands.
-spec bearer_command(context()) -> outcome().
bearer_command(Context) ->
    answer(fun() ->
                   _ = account(Context),
                   throw({refused, 403, <<"BEARER_COMMAND">>})
           end, Context).

%% What came of the request, written by the worker in the format the request asked for
%% (XML, JSON, form fields; the VM never sees JSON).
answer(Outcome, Context) ->
    try Outcome() of
        {stanza, Status, El} -> render(#{status => Status, stanza => El}, Context);
        {_Status, _Headers, _ContentType, _Body} = Done -> Done
    catch throw:{refused, Status, Code} -> refusal(Status, Code, Context);
          throw:{refused, Status, Code, Detail} -> render_refusal(Status, Code, Detail, Context)
    end.

%% A refusal decided here: Code names its entry in the worker's catalogue (src/rest/errors.ts,
%% VM_CODES), which words it; Status is ours, kept should the worker fail to answer.
-spec refusal(pos_integer(), binary(), context()) -> outcome().
refusal(Status, Code, Context) ->
    render_refusal(Status, Code, undefined, Context).

render_refusal(Status, Code, Detail, Context) ->
    Job = case Detail of
              undefined -> #{error => Code};
              _ -> #{error => Code, detail => Detail}
          end,
    render(Job#{status => Status}, Context).

%% The Accept and Content-Type headers the worker negotiates the answer's format from.
-spec negotiation([{atom() | binary(), binary()}]) -> map().
negotiation(Headers) ->
    maps:from_list([{Key, Value} || {Name, Key} <- [{'Content-Type', content_type}, {'Accept', accept}],
                                    {H, Value} <- Headers, H == Name, is_binary(Value)]).

%% With the request's browser fields: a listed origin's page can then read the answer (CORS).
render(Job, #{host := Host, headers := Headers, opts := Opts} = Context) ->
    Frame = maps:merge(maps:merge(Job#{host => Host}, negotiation(Headers)), maps:get(browser, Context, #{})),
    case mod_rest_port:call(render, Frame, mod_rest_opt:request_timeout(Opts), mod_rest_opt:max_in_flight(Opts)) of
        {ok, {document, Status, DocHeaders, ContentType, Body}} when is_integer(Status) ->
            {Status, DocHeaders, ContentType, Body};
        _ -> unrendered(Job, Context)
    end.

%% The worker is gone or slow: what was done stays done, its answer in XML or in words.
unrendered(#{stanza := El, status := Status}, _Context) ->
    {Status, [], ?XML, fxml:element_to_binary(El)};
unrendered(#{error := Code, status := Status}, Context) ->
    refused(Status, <<"Error: ", Code/binary>>, Context).

%% El decoded, its sender bound to the authenticated account.
bound(El, #{host := Host} = Context) ->
    Account = account(Context),
    case decode_stanza(El) of
        {ok, Pkt} ->
            ok = mod_rest_account_policy:check_stanza(Pkt, Account, Host),
            bind(Pkt, Account);
        not_stanza -> throw({refused, 422, <<"NOT_A_STANZA">>});
        {invalid, Why} -> throw({refused, 422, <<"INVALID_STANZA">>, Why})
    end.

%% The values of a header ejabberd_http knows by no atom (it hands those over as sent), by its
%% lowercase Name, in the order sent.
-spec header_values(binary(), [{atom() | binary(), binary()}]) -> [binary()].
header_values(Name, Headers) ->
    Size = byte_size(Name),
    [V || {K, V} <- Headers, is_binary(K), byte_size(K) == Size, ascii_lowercase(K) == Name].

%% Header names are ASCII tokens; string:lowercase/1 (Unicode) cost more than the rest of this.
ascii_lowercase(Bin) ->
    << <<(if C >= $A, C =< $Z -> C + 32; true -> C end)>> || <<C>> <= Bin >>.

%% How long an iq waits: iq_timeout, or what the request's Prosody-Rest-Timeout header asks
%% (seconds, as Prosody's mod_rest reads it), at most iq_max_timeout.
-spec iq_timeout([{atom() | binary(), binary()}], gen_mod:opts()) -> pos_integer().
iq_timeout(Headers, Opts) ->
    case header_values(?TIMEOUT_HEADER, Headers) of
        [Value | _] ->
            try binary_to_integer(string:trim(Value)) of
                Seconds when Seconds > 0 -> min(Seconds * 1000, mod_rest_opt:iq_max_timeout(Opts));
                _ -> mod_rest_opt:iq_timeout(Opts)
            catch error:badarg -> mod_rest_opt:iq_timeout(Opts)
            end;
        [] -> mod_rest_opt:iq_timeout(Opts)
    end.

%% The account, checked ahead of the request (mod_rest_idempotency scopes keys by it); the
%% refusal, if any, as an answer. Either travels on in the context: nothing is checked twice.
-spec checked_account(context()) -> {ok, jid:jid()} | {refused, outcome()}.
checked_account(Context) ->
    try {ok, account(Context)}
    catch throw:{refused, Status, Code} -> {refused, refusal(Status, Code, Context)}
    end.

%% The account the credentials name, checked; throws {refused, Status, Code}. A wrong
%% password and a bad token (unknown, expired, another scope) get the same 401.
account(#{account := Account}) -> Account;
account(#{credentials := Credentials, host := Host, ip := IP, opts := Opts}) ->
    Account = try authenticated(Credentials, Host, {IP, mod_rest_opt:max_auth_failures(Opts)})
              catch throw:{refused, 401, _} -> throw({refused, 401, <<"INVALID_CREDENTIALS">>});
                    throw:{refused, 429, _} -> throw({refused, 429, <<"AUTH_RATE_LIMITED">>})
              end,
    ok = mod_rest_account_policy:check_account(Account, Host, Opts, IP),
    Account.

authenticated({basic, Name, Password}, Host, Client) ->
    mod_rest_command:authenticate(basic_auth({Name, Password}, Host), Client);
authenticated({bearer, Token}, _Host, Client) ->
    mod_rest_oauth:authenticate(Token, Client);
authenticated(_Credentials, _Host, _Client) ->
    throw({refused, 401, <<"INVALID_CREDENTIALS">>}).

%% Basic's user is `user` (of the vhost the Host header chose) or `user@vhost`; the
%% credentials in the shape --auth gives them.
-spec basic_auth({binary(), binary()}, binary()) -> {binary(), binary(), binary()}.
basic_auth({Name, Password}, Host) ->
    case binary:split(Name, <<"@">>) of
        [User, Server] -> {User, Server, Password};
        [User] -> {User, Host, Password}
    end.

%% Decoded as ejabberd_c2s decodes a client's stanza: children stay raw XML (ignore_els)
%% unless validate_stream is on, so they are not decoded here only to be encoded again.
-spec decode_stanza(fxml:xmlel()) -> {ok, xmpp:stanza()} | not_stanza | {invalid, binary()}.
decode_stanza(El) ->
    try xmpp:decode(El, ?NS_CLIENT, ejabberd_config:codec_options()) of
        Pkt ->
            case xmpp:is_stanza(Pkt) of
                true -> {ok, Pkt};
                false -> not_stanza
            end
    catch error:{xmpp_codec, Why} -> {invalid, iolist_to_binary(xmpp:format_error(Why))}
    end.

%% The sender is the account: a stanza without `from` gets its bare JID; one with the
%% account's bare or full JID keeps it; any other is refused. Either way in its canonical
%% spelling, as c2s stamps it (canonical/1).
bind(Pkt, Account) ->
    Pkt1 = case xmpp:get_from(Pkt) of
               undefined -> xmpp:set_from(Pkt, canonical(jid:remove_resource(Account)));
               From ->
                   case jid:tolower(jid:remove_resource(From)) == jid:tolower(jid:remove_resource(Account)) of
                       true -> xmpp:set_from(Pkt, canonical(From));
                       false -> throw({refused, 403, <<"FROM_NOT_ACCOUNT">>})
                   end
           end,
    case {element(1, Pkt1), xmpp:get_to(Pkt1)} of
        %% RFC 6120 §10.3.3: an iq without `to` is handled on behalf of the account.
        {iq, undefined} -> xmpp:set_to(Pkt1, jid:remove_resource(Account));
        {_, undefined} -> throw({refused, 422, <<"NO_TO">>});
        _ -> Pkt1
    end.

deliver(Pkt, IqTimeout, #{ip := IP} = Context) ->
    case {element(1, Pkt), xmpp:get_type(Pkt)} of
        {iq, Type} when Type == get; Type == set ->
            waiting(Pkt, Context, fun() -> ask(Pkt, IqTimeout, Context) end);
        {iq, _} -> throw({refused, 422, <<"IQ_TYPE">>});
        _ ->
            %% What was sent, for the client's receipts, MAM and logs.
            {202, [{<<"X-Stanza-Id">>, xmpp:get_id(routed(Pkt, IP))}], ?XML, <<>>}
    end.

%% A message or presence, given an id, through user_send_packet to the router; what was routed.
routed(Pkt, IP) ->
    Pkt1 = hooked(with_id(Pkt), IP),
    ejabberd_router:route(Pkt1),
    Pkt1.

%% A message or presence without an id gets one before it is routed, so that the answer can
%% name what was sent (ejabberd's own ids: p1_rand, as ejabberd_c2s gives to its stanzas).
-spec with_id(xmpp:stanza()) -> xmpp:stanza().
with_id(Pkt) ->
    case xmpp:get_id(Pkt) of
        <<>> -> xmpp:set_id(Pkt, p1_rand:get_string());
        _ -> Pkt
    end.

%% Sends the iq and waits for its reply: it is the answer, with the caller's own id back. A
%% client that hung up ends the wait (mod_rest_iq_waits); its answer goes nowhere.
ask(IQ, Timeout, #{ip := IP} = Context) ->
    IQ1 = hooked(IQ, IP),
    Ref = make_ref(),
    ejabberd_router:route_iq(IQ1, Ref, self(), Timeout),
    case mod_rest_iq_waits:await(Ref, Timeout, maps:get(connection, Context, none)) of
        {reply, Reply} -> reply(IQ1, Reply);
        _TimeoutOrGone -> no_reply()
    end.

%% Runs Wait, an iq's wait for its reply, in a slot of the account's and the node's bounds
%% (max_iq_waits_per_account, max_iq_waits); refused at once past them.
waiting(IQ, #{opts := Opts}, Wait) ->
    {LUser, LServer, _} = jid:tolower(xmpp:get_from(IQ)),
    case mod_rest_iq_waits:acquire({LUser, LServer}, mod_rest_opt:max_iq_waits_per_account(Opts),
                                   mod_rest_opt:max_iq_waits(Opts)) of
        {refused, account} -> throw({refused, 429, <<"IQ_WAITS_ACCOUNT">>});
        {refused, node} -> throw({refused, 503, <<"IQ_WAITS_NODE">>});
        ok ->
            try Wait()
            after mod_rest_iq_waits:release()
            end
    end.

%% What the user_send_packet hooks make of Pkt; throws when they drop it.
hooked(Pkt, IP) ->
    case run_send_hook(Pkt, IP) of
        drop -> throw({refused, 403, <<"HOOK_DROPPED">>});
        Pkt1 -> Pkt1
    end.

no_reply() ->
    throw({refused, 504, <<"IQ_TIMEOUT">>}).

reply(IQ, Reply) ->
    %% The id is unique and signed; the sender is checked all the same.
    To = jid:tolower(xmpp:get_to(IQ)),
    From = xmpp:get_from(Reply),
    Expected = To == jid:tolower(From)
        orelse (element(3, To) == <<>> andalso jid:tolower(jid:remove_resource(From)) == To),
    case Expected of
        false -> throw({refused, 502, <<"UNEXPECTED_SENDER">>});
        true ->
            Reply1 = xmpp:set_id(Reply, xmpp:get_id(IQ)),
            {stanza, iq_status(Reply1), xmpp:encode(Reply1)}
    end.

%% An iq result is 200; an iq error the HTTP status of its condition (RFC 6120 §8.3.3).
-spec iq_status(xmpp:iq()) -> pos_integer().
iq_status(IQ) ->
    case xmpp:get_type(IQ) of
        result -> 200;
        error ->
            case xmpp:get_error(IQ) of
                undefined -> 500;
                Err -> condition_status(condition(xmpp:format_stanza_error(Err)))
            end
    end.

%% xmpp:format_stanza_error/1 writes "condition", or "text (condition)" when there is a text.
condition(Formatted) ->
    case re:run(Formatted, <<"\\(([a-z-]+)\\)$">>, [{capture, all_but_first, binary}]) of
        {match, [Condition]} -> Condition;
        nomatch -> Formatted
    end.

condition_status(Text) ->
    case Text of
        <<"bad-request">> -> 400;
        <<"conflict">> -> 409;
        <<"feature-not-implemented">> -> 501;
        <<"forbidden">> -> 403;
        <<"gone">> -> 410;
        <<"item-not-found">> -> 404;
        <<"jid-malformed">> -> 400;
        <<"not-acceptable">> -> 406;
        <<"not-allowed">> -> 405;
        <<"not-authorized">> -> 403;
        <<"payment-required">> -> 402;
        <<"policy-violation">> -> 403;
        <<"recipient-unavailable">> -> 404;
        <<"registration-required">> -> 403;
        <<"remote-server-not-found">> -> 404;
        <<"remote-server-timeout">> -> 504;
        <<"resource-constraint">> -> 503;
        <<"service-unavailable">> -> 503;
        <<"subscription-required">> -> 403;
        <<"unexpected-request">> -> 400;
        _ -> 500
    end.

%% In words, when the worker cannot write the answer.
refused(401, Body, #{host := Host}) ->
    Realm = <<"\"", Host/binary, "/rest\"">>,
    {401, [{<<"WWW-Authenticate">>, <<"Basic realm=", Realm/binary, ", Bearer realm=", Realm/binary>>}],
     <<"text/plain; charset=utf-8">>, Body};
refused(429, Body, _Context) ->
    {429, [{<<"Retry-After">>, <<"60">>}], <<"text/plain; charset=utf-8">>, Body};
refused(Status, Body, _Context) ->
    {Status, [], <<"text/plain; charset=utf-8">>, Body}.

%% A JID as c2s stamps it: nodeprep, nameprep and resourceprep applied (`ＡＬＩＣＥ@LOCALHOST/Ｘ`
%% is alice@localhost/X), not as the request spelled it (security issue 2, item 17).
-spec canonical(jid:jid()) -> jid:jid().
canonical(JID) ->
    jid:make(jid:tolower(JID)).

%% As ejabberd_c2s does for a client's stanza: the sender's server runs user_send_packet
%% (MAM archives it, carbons copy it); returns what the hooks make of it, or drop.
-spec run_send_hook(xmpp:stanza(), inet:ip_address()) -> xmpp:stanza() | drop.
run_send_hook(Pkt0, IP) ->
    From = canonical(xmpp:get_from(Pkt0)),
    Pkt = xmpp:set_from(Pkt0, From),
    {LUser, LServer, LResource} = jid:tolower(From),
    C2SState = #{jid => From, user => LUser, server => LServer, resource => LResource,
                 lserver => LServer, ip => {IP, 0}, lang => <<"en">>},
    case ejabberd_hooks:run_fold(user_send_packet, LServer, {Pkt, C2SState}, []) of
        {drop, _} -> drop;
        {Pkt1, _} -> Pkt1
    end.
