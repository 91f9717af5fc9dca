%% SPDX-License-Identifier: GPL-2.0-or-later
%%%----------------------------------------------------------------------
%%% mod_rest: POST stanzas and ejabberdctl command lines into ejabberd over HTTP.
%%%
%%% A thin gen_mod and ejabberd_http handler. Each request goes, as a plain map, to a
%%% TypeScript worker (mod_rest_port) that checks and parses it; what comes back is carried
%%% out here, in the VM: a stanza is run through the sender's user_send_packet hook and
%%% routed; a command is checked (credentials, access_commands) and run. Every request gets
%%% an HTTP answer, whatever the worker does.
%%%----------------------------------------------------------------------
-module(mod_rest).
-behaviour(gen_mod).

%% gen_mod callbacks
-export([start/2, stop/1, reload/3, depends/2, mod_opt_type/1, mod_options/1, mod_doc/0]).
%% ejabberd_http handler
-export([process/2]).
%% Answers in mod_rest's shape, for mod_rest_idempotency
-export([answer/2, document/1]).
%% Pure helpers, exported for the EUnit tests
-export([choose_host/3, port_error_answer/1, worker_policy/1, xff_trusted/3]).

-include("logger.hrl").
-include("ejabberd_http.hrl").


-type http_answer() :: {pos_integer(), binary(), [{binary(), binary()}], binary()}.
-define(HEADERS, [{<<"Content-Type">>, <<"text/plain; charset=utf-8">>},
                  {<<"X-Content-Type-Options">>, <<"nosniff">>}]).

%%%===================================================================
%%% gen_mod callbacks
%%%===================================================================
-spec start(binary(), gen_mod:opts()) -> ok | {error, term()}.
start(Host, Opts) ->
    case mod_rest_port:ensure_started() of
        ok ->
            mod_rest_oauth:register_scope(),
            mod_rest_mam:start(),
            mod_rest_ops:register_commands(),
            ok = mod_rest_idempotency:start(),
            ok = mod_rest_batch:start(),
            ok = mod_rest_sampler:ensure_started(),
            ok = register_host(Host, Opts),
            mod_rest_webhook:start(Host, mod_rest_opt:webhooks(Opts));
        {error, _} = Err -> Err
    end.

-spec stop(binary()) -> ok.
stop(Host) ->
    mod_rest_webhook:stop(Host),
    mod_rest_webadmin:stop(Host),
    try mod_rest_port:forget_host(Host) of
        0 ->
            mod_rest_ops:unregister_commands(),
            mod_rest_oauth:unregister_scope(),
            mod_rest_mam:stop(),
            mod_rest_idempotency:stop(),
            mod_rest_sampler:stop(),
            mod_rest_port:stop();
        _ -> ok
    catch exit:_ -> ok   % the port owner is already gone
    end.

-spec reload(binary(), gen_mod:opts(), gen_mod:opts()) -> ok.
reload(Host, NewOpts, _OldOpts) ->
    ok = register_host(Host, NewOpts),
    %% Webhooks start afresh: what their queues held is answered with an error first.
    mod_rest_webhook:stop(Host),
    mod_rest_webhook:start(Host, mod_rest_opt:webhooks(NewOpts)).

-spec depends(binary(), gen_mod:opts()) -> [{module(), hard | soft}].
depends(_Host, _Opts) ->
    [].

register_host(Host, Opts) ->
    mod_rest_webadmin:start(Host),   % idempotent: a reload adds nothing twice
    mod_rest_port:set_host(Host, worker_policy(Opts), mod_rest_opt:worker_executable(Opts)).

%% The options the worker applies, in the protocol's plain terms (see mod_rest_port).
-spec worker_policy(gen_mod:opts()) -> map().
worker_policy(Opts) ->
    #{allowed_ips => [ip_mask_to_text(M) || M <- all_to_empty(mod_rest_opt:allowed_ips(Opts))],
      api_allowed_ips => [ip_mask_to_text(M) || M <- all_to_empty(mod_rest_opt:api_allowed_ips(Opts))],
      allowed_destinations => [jid:encode(jid:tolower(J))
                               || J <- all_to_empty(mod_rest_opt:allowed_destinations(Opts))],
      allowed_stanza_types => [atom_to_binary(T, utf8)
                               || T <- all_to_empty(mod_rest_opt:allowed_stanza_types(Opts))],
      %% Unlike the lists above, [] admits nobody: only `all` opens it to every sender.
      allowed_senders => case mod_rest_opt:allowed_senders(Opts) of
                             all -> all;
                             Senders -> [jid:encode(jid:tolower(J)) || J <- Senders]
                         end,
      max_xml_depth => mod_rest_opt:max_xml_depth(Opts),
      max_xml_elements => mod_rest_opt:max_xml_elements(Opts),
      max_command_args => mod_rest_opt:max_command_args(Opts),
      api_max_batch_items => mod_rest_opt:api_max_batch_items(Opts),
      api_max_batch_size => mod_rest_opt:api_max_batch_size(Opts),
      allowed_origins => mod_rest_opt:allowed_origins(Opts),
      api_allowed_origins => mod_rest_opt:api_allowed_origins(Opts),
      max_command_size => mod_rest_opt:max_command_size(Opts),
      api_max_stanza_size => mod_rest_opt:api_max_stanza_size(Opts)}.

all_to_empty(all) -> [];
all_to_empty(List) -> List.

ip_mask_to_text({IP, Bits}) ->
    iolist_to_binary([inet:ntoa(IP), $/, integer_to_binary(Bits)]).

%%%===================================================================
%%% HTTP handler
%%%===================================================================
-spec process([binary()], #request{}) -> http_answer().
process(LocalPath, #request{data = Data} = Request) ->
    Started = mod_rest_metrics:request_started(),
    Answer = try handle(LocalPath, Request)
             catch Class:Reason:Stack ->
                     %% ejabberd_http drops the connection when a handler crashes: never let it.
                     ?ERROR_MSG("mod_rest: internal error: ~ts",
                                [misc:format_exception(2, Class, Reason, Stack)]),
                     answer(500, <<"Error: internal error in mod_rest.">>)
             end,
    {Status, _, _, Body} = Answer,
    mod_rest_metrics:request_done(mod_rest_metrics:route(LocalPath), Status, byte_size(Data),
                                  body_size(Body), Started),
    Answer.

body_size(Body) when is_binary(Body) -> byte_size(Body);
body_size(Body) -> iolist_size(Body).

handle(LocalPath, #request{method = Method, ip = {IP, _}, host = HttpHost} = Request) ->
    case {choose_host(HttpHost, ejabberd_option:hosts(), fun(H) -> gen_mod:is_loaded(H, ?MODULE) end),
          as_sent(Request)} of
        {undefined, _} ->
            answer(503, <<"Error: mod_rest is not enabled on any virtual host.">>);
        {_, {refused, Status, Body}} ->
            answer(Status, Body);
        {Host, ok} ->
            %% One copy of the options out of ETS per request, not one per option.
            Opts = gen_mod:get_module_opts(Host, ?MODULE),
            %% /rest/metrics and /rest/health are answered here, never by the worker.
            case mod_rest_ops:is_ops_path(LocalPath) of
                true -> mod_rest_ops:handle(LocalPath, Method, IP, Opts);
                false -> handle(LocalPath, Request, Host, Opts)
            end
    end.

%% The module's own paths aside: the rate limit, the size limit, then the worker.
handle(LocalPath, #request{method = Method, data = Data, ip = {IP, _}} = Request, Host, Opts) ->
    Now = erlang:monotonic_time(millisecond),
    case {mod_rest_rate:check(IP, mod_rest_opt:rate_limit_per_ip(Opts), Now),
          byte_size(Data) =< mod_rest_opt:max_body_size(Opts)} of
        {limited, _} ->
            mod_rest_metrics:refused(rate_limited),
            retry_later(429, <<"Error: too many requests from this address; try again later.">>);
        {ok, true} ->
            Credentials = mod_rest_api:credentials(Request#request.auth, Request#request.headers),
            Context = #{host => Host, ip => IP, opts => Opts,
                        credentials => Credentials,
                        headers => Request#request.headers,
                        connection => {Request#request.sockmod, Request#request.socket},
                        browser => mod_rest_browser:request_fields(Request, Credentials),
                        %% ejabberd_http's decoded query string (a key without a value is
                        %% nokey), a GET's only: for a POST it also holds the url-decoded
                        %% body, up to max_body_size, which nothing here needs.
                        query => case Method of
                                     'GET' -> [{K, V} || {K, V} <- Request#request.q, is_binary(K), is_binary(V)];
                                     _ -> []
                                 end},
            admit(LocalPath, Method, Data, Context);
        {ok, false} ->
            %% Refused here, before it is copied into a frame.
            mod_rest_metrics:refused(too_large),
            answer(413, <<"Error: the body is larger than max_body_size.">>)
    end.

%% What is decided before the body is copied to the worker (security issue 16, items 3, 6, 8):
%% its size (api_max_stanza_size for the API, api_max_batch_size for a batch, max_command_size
%% for a command line), then the API's credentials, so that a request they refuse costs a
%% password check, not a parse.
admit(LocalPath, Method, Data, #{credentials := Credentials, headers := Headers, opts := Opts} = Context) ->
    Api = mod_rest_bounds:is_api(LocalPath, Credentials /= none, Headers),
    case {mod_rest_bounds:check(Data, mod_rest_batch:shape(Api, LocalPath, Method, Headers, Data), Opts), Api} of
        {ok, false} -> forward(LocalPath, Method, Data, Context);
        {ok, true} ->
            case mod_rest_api:authenticate_first(LocalPath, Context) of
                {ok, Context1} -> forward(LocalPath, Method, Data, Context1);
                {refused, Outcome} -> document(Outcome)
            end;
        {{too_large, Code}, true} ->
            mod_rest_metrics:refused(too_large),
            document(mod_rest_api:refusal(413, Code, Context));
        {{too_large, _}, false} ->
            mod_rest_metrics:refused(too_large),
            answer(413, <<"Error: the command line is longer than max_command_size.">>)
    end.

%% Whether the request is what its client sent, before anything reads it (security issue,
%% items 3 and 4). ejabberd_http hands over every byte it buffered, Content-Length or not: a
%% longer body holds the start of the next request on the connection (someone else's, behind
%% a pooling proxy). And it replaces the peer's address with the X-Forwarded-For client only
%% when every proxy in the chain is trusted; otherwise it keeps the proxy's address, which
%% must not be admitted in the client's stead.
-spec as_sent(#request{}) -> ok | {refused, pos_integer(), binary()}.
as_sent(#request{headers = Headers, data = Data} = Request) ->
    case {[V || {'Content-Length', V} <- Headers], [V || {'X-Forwarded-For', V} <- Headers]} of
        {[_, _ | _], _} ->
            {refused, 400, <<"Error: the request has more than one Content-Length header.">>};
        {[Length], _} when Length /= <<>>, byte_size(Data) > Request#request.length ->
            {refused, 400, <<"Error: the body is longer than its Content-Length.">>};
        {_, []} -> ok;
        {_, [_, _ | _]} ->
            {refused, 400, <<"Error: the request has more than one X-Forwarded-For header.">>};
        {_, [Chain]} ->
            case peer_address(Request) of
                {ok, Peer} ->
                    case xff_trusted(Chain, Peer, ejabberd_option:trusted_proxies()) of
                        true -> ok;
                        false -> {refused, 403, <<"Error: X-Forwarded-For is only accepted through trusted_proxies.">>}
                    end;
                error -> {refused, 400, <<"Error: the connection is gone.">>}
            end
    end.

%% The TCP peer: #request.ip is already the X-Forwarded-For client when ejabberd trusted it.
peer_address(#request{sockmod = gen_tcp, socket = Socket}) -> peername(inet:peername(Socket));
peer_address(#request{sockmod = SockMod, socket = Socket}) -> peername(SockMod:peername(Socket)).

peername({ok, {IP, _Port}}) -> {ok, IP};
peername(_) -> error.

%% ejabberd_http's own rule (analyze_ip_xff/2): the client named first is believed when every
%% address after it, the TCP peer last, is a trusted proxy.
-spec xff_trusted(binary(), inet:ip_address(), all | [{inet:ip_address(), 0..128}]) -> boolean().
xff_trusted(Chain, Peer, Trusted) ->
    case str:tokens(Chain, <<", ">>) of
        [] -> false;
        [_Client | Proxies] ->
            lists:all(fun(Proxy) -> trusted_proxy(Proxy, Trusted) end,
                      Proxies ++ [list_to_binary(inet:ntoa(Peer))])
    end.

trusted_proxy(_Address, all) -> true;
trusted_proxy(Address, Masks) ->
    case inet:parse_address(binary_to_list(Address)) of
        {ok, IP} -> mod_rest_ops:ip_allowed(IP, Masks);
        {error, _} -> false
    end.

%% A POST with an Idempotency-Key is carried out once (mod_rest_idempotency).
forward(LocalPath, Method, Data, Context) ->
    mod_rest_idempotency:around(LocalPath, Method, Data, Context,
                                fun(Context1) -> forward_now(LocalPath, Method, Data, Context1) end).

%% A request with credentials (an Authorization header) is the authenticated API
%% (mod_rest_api); without, the original protocol, answered as the original did.
forward_now(LocalPath, Method, Data, #{host := Host, ip := IP, opts := Opts, credentials := Credentials,
                                    headers := Headers} = Context) ->
    Request0 = #{method => method_name(Method), path => LocalPath, body => Data,
                 ip => list_to_binary(inet:ntoa(IP)), host => Host},
    %% The media types tell the API's requests from the original protocol's (and choose the
    %% answer's format); credentials make a request the API's whatever its shape.
    Request1 = maps:merge(maps:merge(Request0, mod_rest_api:negotiation(Headers)),
                          maps:get(browser, Context)),
    Request2 = case Credentials of
                   none -> Request1;
                   _ -> Request1#{api => true}
               end,
    Request = case maps:get(query, Context, []) of
                  [] -> Request2;
                  Query -> Request2#{query => Query}
              end,
    case mod_rest_port:call(Request, mod_rest_opt:request_timeout(Opts),
                            mod_rest_opt:max_in_flight(Opts)) of
        {ok, Action} ->
            %% Counted by what came of it: a command refused in the VM was not carried out.
            Answer = carry_out(Action, Context),
            mod_rest_metrics:action(action_kind(Action), element(1, Answer)),
            {done, Answer};
        {error, Why} ->
            mod_rest_metrics:refused(Why),
            {nothing_done, port_error_answer(Why)}
    end.

action_kind({with_headers, _, Action}) -> action_kind(Action);   % CORS headers: counted as what they wrap
action_kind(Action) when is_tuple(Action), tuple_size(Action) > 0, is_atom(element(1, Action)) ->
    element(1, Action);
action_kind(_) -> other.

method_name(Method) when is_atom(Method) -> atom_to_binary(Method, utf8);
method_name(Method) when is_binary(Method) -> Method.

%% The vhost named by the Host header when mod_rest runs there; otherwise the first vhost,
%% in the order of ejabberd's `hosts` option, that runs mod_rest. Clients talking to an IP
%% address (Host: 127.0.0.1) thus get the first vhost, never a dropped connection.
-spec choose_host(binary(), [binary()], fun((binary()) -> boolean())) -> binary() | undefined.
choose_host(HttpHost, Hosts, IsLoaded) ->
    Named = case jid:nameprep(HttpHost) of
                error -> undefined;
                Name -> Name
            end,
    case lists:member(Named, Hosts) andalso IsLoaded(Named) of
        true -> Named;
        false ->
            case lists:filter(IsLoaded, Hosts) of
                [First | _] -> First;
                [] -> undefined
            end
    end.

%%%===================================================================
%%% Carrying out the worker's decision
%%%===================================================================
carry_out({route, El}, #{ip := IP}) ->
    case mod_rest_api:decode_stanza(El) of
        {ok, Pkt} -> route(mod_rest_api:with_id(Pkt), IP);
        not_stanza -> answer(400, <<"Error: the element is not a stanza (message, presence or iq).">>);
        {invalid, Why} ->
            ?DEBUG("mod_rest: not a stanza the XMPP codec accepts: ~ts", [Why]),
            %% The original's answer, kept for compatibility.
            answer(500, <<"Error: xmpp_codec">>)
    end;
carry_out({Kind, El}, Context) when Kind == send; Kind == echo; Kind == archive ->
    document(mod_rest_api:Kind(El, Context));
carry_out({send_batch, Items}, Context) when is_list(Items) ->
    document(mod_rest_batch:send(Items, Context));
carry_out({document, Status, Headers, ContentType, Body}, _Context)
  when is_integer(Status), Status >= 200, Status =< 599, is_list(Headers), is_binary(ContentType) ->
    document({Status, Headers, ContentType, Body});
carry_out({command, _Name, _Args, {_, _, _}}, #{credentials := Credentials} = Context) when Credentials /= none ->
    document(mod_rest_api:refusal(400, <<"CREDENTIALS_TWICE">>, Context));
carry_out({command, _Name, _Args, none}, #{credentials := {bearer, _}} = Context) ->
    document(mod_rest_api:bearer_command(Context));
carry_out({command, Name, Args, Auth}, #{host := Host, ip := IP, opts := Opts, credentials := Credentials} = Context) ->
    %% A command line sent with Authorization runs as that account, as --auth does.
    Auth1 = case Credentials of
                {basic, User, Password} -> mod_rest_api:basic_auth({User, Password}, Host);
                _ -> Auth
            end,
    case {mod_rest_command:run(Host, Name, Args, Auth1, {IP, mod_rest_opt:max_auth_failures(Opts)}),
          Credentials} of
        %% The Authorization header's credentials refused: the API's own 401, with its challenge.
        {{401, _}, {basic, _, _}} -> document(mod_rest_api:refusal(401, <<"INVALID_CREDENTIALS">>, Context));
        {{429, Body}, _} -> retry_later(429, Body, 60);
        {{Status, Body}, _} -> answer(Status, Body)
    end;
carry_out({with_headers, Extra, Action}, Context) when is_list(Extra) ->
    %% CORS for a listed origin (src/rest/browser.ts): whatever Action's answer is, plus these.
    %% Decided once: what is rendered on the way (an iq's reply, a refusal) asks for none again.
    {Status, Reason, Headers, Body} = carry_out(Action, Context#{browser => #{}}),
    {Status, Reason, Headers ++ [{Name, Value} || {Name, Value} <- Extra, is_binary(Name), is_binary(Value)], Body};
carry_out({answer, Status, Body}, _Context)
  when is_integer(Status), Status >= 200, Status =< 599, is_binary(Body) ->
    answer(Status, Body).

%% An answer of the authenticated API, already written in the format its request asked for.
document({Status, Headers, ContentType, Body}) ->
    {Status, reason_phrase(Status),
     Headers ++ [{<<"Content-Type">>, ContentType}, {<<"X-Content-Type-Options">>, <<"nosniff">>}],
     Body}.

%% As for a client's stanza: the sender's server runs user_send_packet (MAM archives it,
%% carbons copy it), then the router delivers what the hooks return.
route(Pkt, IP) ->
    case mod_rest_api:run_send_hook(Pkt, IP) of
        drop ->
            answer(403, <<"Error: the stanza was dropped by the server's user_send_packet hooks.">>);
        Pkt1 ->
            ejabberd_router:route(Pkt1),
            {Status, Reason, Headers, Body} = answer(200, <<"Ok">>),
            {Status, Reason, [{<<"X-Stanza-Id">>, xmpp:get_id(Pkt1)} | Headers], Body}
    end.

-spec port_error_answer(mod_rest_port:call_error()) -> http_answer().
port_error_answer(timeout) ->
    answer(504, <<"Error: the REST worker did not answer in time; nothing was done.">>);
port_error_answer(Why) ->
    Body = case Why of
               busy -> <<"Error: the REST worker is busy; nothing was done, try again.">>;
               overloaded -> <<"Error: too many requests in flight; nothing was done, try again.">>;
               worker_died -> <<"Error: the REST worker stopped; nothing was done, try again.">>;
               garbled -> <<"Error: the REST worker failed; nothing was done, try again.">>;
               _ -> <<"Error: the REST worker is not running; nothing was done, try again.">>
           end,
    retry_later(503, Body).

%% Always with our own reason phrase: ejabberd_http crashes on a status it has no phrase
%% for (422, 429 in 23.01), and a crash there drops the connection.
answer(Status, Body) ->
    {Status, reason_phrase(Status), ?HEADERS, Body}.

%% Nothing was done: the client may send the same request again in a second.
retry_later(Status, Body) ->
    retry_later(Status, Body, 1).

retry_later(Status, Body, Seconds) ->
    {Status, reason_phrase(Status), [{<<"Retry-After">>, integer_to_binary(Seconds)} | ?HEADERS],
     Body}.

reason_phrase(200) -> <<"OK">>;
reason_phrase(202) -> <<"Accepted">>;
reason_phrase(204) -> <<"No Content">>;
reason_phrase(400) -> <<"Bad Request">>;
reason_phrase(401) -> <<"Unauthorized">>;
reason_phrase(403) -> <<"Forbidden">>;
reason_phrase(404) -> <<"Not Found">>;
reason_phrase(405) -> <<"Method Not Allowed">>;
reason_phrase(406) -> <<"Not Acceptable">>;
reason_phrase(409) -> <<"Conflict">>;
reason_phrase(413) -> <<"Content Too Large">>;
reason_phrase(415) -> <<"Unsupported Media Type">>;
reason_phrase(422) -> <<"Unprocessable Content">>;
reason_phrase(429) -> <<"Too Many Requests">>;
reason_phrase(500) -> <<"Internal Server Error">>;
reason_phrase(502) -> <<"Bad Gateway">>;
reason_phrase(503) -> <<"Service Unavailable">>;
reason_phrase(504) -> <<"Gateway Timeout">>;
reason_phrase(Status) when Status < 300 -> <<"OK">>;
reason_phrase(Status) when Status < 500 -> <<"Client Error">>;
reason_phrase(_) -> <<"Server Error">>.

%%%===================================================================
%%% Options
%%%===================================================================
-spec mod_opt_type(atom()) -> econf:validator().
mod_opt_type(allowed_ips) ->
    econf:either(econf:enum([all]), econf:list(econf:ip_mask()));
mod_opt_type(allowed_destinations) ->
    econf:either(econf:enum([all]), econf:list(econf:jid()));
mod_opt_type(api_allowed_ips) ->
    econf:either(econf:enum([all]), econf:list(econf:ip_mask()));
mod_opt_type(allowed_origins) ->
    mod_rest_browser:origins_opt_type();
mod_opt_type(api_allowed_origins) ->
    mod_rest_browser:origins_opt_type();
mod_opt_type(api_access) ->
    econf:acl();
mod_opt_type(api_max_batch_items) ->
    econf:pos_int();
mod_opt_type(api_max_batch_size) ->
    econf:pos_int();
mod_opt_type(api_max_stanza_size) ->
    econf:pos_int();
mod_opt_type(iq_timeout) ->
    econf:timeout(second);
mod_opt_type(iq_max_timeout) ->
    econf:timeout(second);
mod_opt_type(allowed_senders) ->
    econf:either(econf:enum([all]), econf:list(econf:jid()));
mod_opt_type(allowed_stanza_types) ->
    econf:either(econf:enum([all]), econf:list(econf:enum([message, presence, iq])));
mod_opt_type(access_commands) ->
    econf:either(
      econf:enum([open]),
      econf:and_then(
        econf:list(econf:map(econf:atom(),
                             econf:either(econf:enum([all]), econf:list(econf:atom())))),
        fun lists:append/1));
mod_opt_type(request_timeout) ->
    econf:timeout(second);
mod_opt_type(metrics_allowed_ips) ->
    econf:either(econf:enum([all]), econf:list(econf:ip_mask()));
mod_opt_type(health_allowed_ips) ->
    econf:either(econf:enum([all]), econf:list(econf:ip_mask()));
mod_opt_type(health_timeout) ->
    econf:timeout(millisecond);
mod_opt_type(idempotency_key_lifetime) ->
    econf:timeout(second);
mod_opt_type(idempotency_max_bytes) ->
    econf:pos_int();
mod_opt_type(idempotency_max_keys) ->
    econf:pos_int();
mod_opt_type(max_auth_failures) ->
    econf:pos_int();
mod_opt_type(max_in_flight) ->
    econf:pos_int();
mod_opt_type(max_iq_waits) ->
    econf:pos_int();
mod_opt_type(max_iq_waits_per_account) ->
    econf:pos_int();
mod_opt_type(max_body_size) ->
    econf:pos_int();
mod_opt_type(max_xml_elements) ->
    econf:pos_int();
mod_opt_type(max_command_args) ->
    econf:pos_int();
mod_opt_type(max_command_size) ->
    econf:pos_int();
mod_opt_type(max_xml_depth) ->
    econf:pos_int();
mod_opt_type(rate_limit_per_ip) ->
    econf:pos_int(unlimited);
mod_opt_type(webhooks) ->
    econf:list(mod_rest_webhook:webhook_opt_type());
mod_opt_type(worker_executable) ->
    econf:binary().

-spec mod_options(binary()) -> [{atom(), term()}].
mod_options(Host) ->
    [{allowed_ips, [{{127, 0, 0, 1}, 32}, {{0, 0, 0, 0, 0, 0, 0, 1}, 128}]},
     {allowed_destinations, all},
     %% No web page of another origin may use either protocol until an operator lists it.
     {allowed_origins, []},
     %% The authenticated API: loopback too, until an operator opens it.
     {api_allowed_ips, [{{127, 0, 0, 1}, 32}, {{0, 0, 0, 0, 0, 0, 0, 1}, 128}]},
     {api_allowed_origins, []},
     {api_access, all},
     {api_max_batch_items, 1000},
     %% What one stanza may cost: a batch is no bigger unless an operator says so.
     {api_max_batch_size, 256 * 1024},
     %% c2s's max_stanza_size in Debian's configuration (Prosody's mod_rest: 192 KiB).
     {api_max_stanza_size, 256 * 1024},
     {iq_timeout, timer:seconds(30)},
     {iq_max_timeout, timer:seconds(300)},
     %% The vhost itself (and its full JIDs, e.g. localhost/rest): never one of its users.
     {allowed_senders, [jid:make(Host)]},
     {allowed_stanza_types, all},
     {access_commands, mod_rest_command:default_access_commands()},
     {request_timeout, timer:seconds(5)},
     %% GET /rest/metrics and /rest/health: loopback, until an operator opens them.
     {metrics_allowed_ips, [{{127, 0, 0, 1}, 32}, {{0, 0, 0, 0, 0, 0, 0, 1}, 128}]},
     {health_allowed_ips, [{{127, 0, 0, 1}, 32}, {{0, 0, 0, 0, 0, 0, 0, 1}, 128}]},
     %% Under a load balancer's usual check timeout (2-5 s): a 503 in time, not its own timeout.
     {health_timeout, 1000},
     %% Idempotency-Key: a day, as the draft's examples and payment APIs keep them; per vhost
     %% at most 100,000 keys and 64 MiB of kept answers, cluster-wide.
     {idempotency_key_lifetime, timer:hours(24)},
     {idempotency_max_bytes, 64 * 1024 * 1024},
     {idempotency_max_keys, 100000},
     {max_auth_failures, 10},
     {max_in_flight, 512},
     %% Each waiting iq holds a connection and a process for up to iq_max_timeout.
     {max_iq_waits, 1000},
     {max_iq_waits_per_account, 32},
     {max_body_size, 20 * 1024 * 1024},
     {max_xml_depth, 256},
     {max_xml_elements, 10000},
     {max_command_args, 256},
     %% A command line never needs megabytes; this one fits send_stanza with a c2s-sized stanza.
     {max_command_size, 256 * 1024},
     {rate_limit_per_ip, unlimited},
     {webhooks, []},
     {worker_executable, <<"node">>}].

mod_doc() ->
    #{desc =>
          [<<"POST an XMPP stanza or an ejabberdctl command line to an HTTP "
             "request handler; the stanza is routed, the command is run.">>, "",
           <<"Add it under 'listen' -> 'ejabberd_http' -> 'request_handlers' "
             "(e.g. '/rest: mod_rest') as well as under 'modules'.">>],
      opts =>
          [{allowed_ips,
            #{value => "all | [IP | IP/Mask]",
              desc => <<"Peers allowed to use the handler; IPv4-mapped IPv6 peers match "
                        "IPv4 entries. Others get 406. Default: loopback only "
                        "(127.0.0.1 and ::1).">>}},
           {allowed_origins,
            #{value => "all | [Origin]",
              desc => <<"Web pages allowed to use the original protocol (POST /rest without "
                        "credentials) from a browser, as scheme://host[:port]; a request a "
                        "page of any other origin makes a browser send is refused 403, "
                        "nothing done. Clients that are not browsers send no Origin and are "
                        "unaffected. Default: [] (none).">>}},
           {allowed_destinations,
            #{value => "all | [JID]",
              desc => <<"Stanzas may only be sent to these JIDs, compared normalised; a bare "
                        "JID also admits its resources. An authenticated account is held to "
                        "its own vhost's list (and stanza types, api_allowed_ips) as well as "
                        "the Host header's. Default: all.">>}},
           {api_allowed_ips,
            #{value => "all | [IP | IP/Mask]",
              desc => <<"Peers allowed to use the authenticated API (requests with an "
                        "Authorization header), apart from allowed_ips: opening one opens "
                        "nothing of the other. Default: loopback only.">>}},
           {api_allowed_origins,
            #{value => "all | [Origin]",
              desc => <<"Web pages allowed to call the authenticated API from a browser "
                        "(CORS), as scheme://host[:port], e.g. https://desk.example.com. "
                        "Their OPTIONS preflights are answered and their answers carry "
                        "Access-Control-Allow-Origin; they must authenticate with a Bearer "
                        "token (Basic is refused 403). Requests from the pages of any other "
                        "origin are refused 403, nothing done (cross-site request forgery). "
                        "'all' lets every web page call the API with the tokens it holds. "
                        "Default: [] (none).">>}},
           {api_access,
            #{value => "AccessName",
              desc => <<"The access rule an authenticated account must match to use the API "
                        "(matched on the account's own vhost); others are answered 403. "
                        "The api_access of the Host header's vhost and of the account's own "
                        "must both allow, and so must the 'access' rule of ejabberd's c2s "
                        "listeners. Default: all (any account that authenticates).">>}},
           {api_max_batch_items,
            #{value => "pos_integer()",
              desc => <<"Most stanzas in one batch request of the authenticated API (a JSON "
                        "array, application/x-ndjson or application/vnd.mod-rest.stanzas+xml); "
                        "a larger batch is answered 413 and nothing of it is sent. Each item "
                        "is held to the limits of one stanza. Default: 1000 items.">>}},
           {api_max_batch_size,
            #{value => "pos_integer()",
              desc => <<"Largest batch request of the authenticated API, in bytes; a larger "
                        "one is answered 413 in the VM, before it is copied to the worker, and "
                        "nothing of it is sent. Each item is still held to "
                        "api_max_stanza_size. Default: 262144 (256 KiB: a batch costs no more "
                        "bytes than one stanza may).">>}},
           {api_max_stanza_size,
            #{value => "pos_integer()",
              desc => <<"Largest body of the authenticated API (a stanza in XML, JSON or "
                        "form fields, or a command line), in bytes, and largest stanza it "
                        "makes; larger ones are answered 413 (in the VM, before the body is "
                        "copied to the worker). The legacy protocol keeps max_body_size. "
                        "Default: 262144 (256 KiB, c2s's max_stanza_size in Debian's "
                        "configuration).">>}},
           {iq_timeout,
            #{value => "timeout()",
              desc => <<"How long an iq sent through the authenticated API waits for its "
                        "reply before the answer is 504. Write the unit; a number alone is seconds. Default: 30 seconds.">>}},
           {iq_max_timeout,
            #{value => "timeout()",
              desc => <<"The longest wait a request may ask for with its Prosody-Rest-Timeout "
                        "header (seconds). Write the unit; a number alone is seconds. Default: 300 seconds.">>}},
           {allowed_senders,
            #{value => "all | [JID]",
              desc => <<"The 'from' a stanza posted without credentials may carry; others "
                        "are answered 403. A bare JID also admits its resources; a domain "
                        "admits itself and its resources, not its users. Default: the vhost "
                        "alone (e.g. 'localhost', 'localhost/rest'). 'all' lets callers "
                        "impersonate every account, admins included.">>}},
           {allowed_stanza_types,
            #{value => "all | [message | presence | iq]",
              desc => <<"Stanza element names accepted. Default: all.">>}},
           {access_commands,
            #{value => "open | [{AccessName: all | [Command]}]",
              desc => <<"Who may run commands: a command runs only for '--auth' credentials "
                        "that ejabberd accepts, of an account that an access rule listing that "
                        "command allows, on every vhost involved (the Host header's, the "
                        "account's, and any the arguments name; every vhost when they name "
                        "none, as for dump or stop). Default: "
                        "[{configure: all}]: ejabberd's admins (the 'configure' rule) run "
                        "every command, nobody else any. [] lets nobody run one. 'open' runs "
                        "every command for every caller allowed_ips admits, with no "
                        "credentials (the original's behaviour): 'stop', 'dump' included.">>}},
           {request_timeout,
            #{value => "timeout()",
              desc => <<"How long a request may wait for the worker before it is answered "
                        "504. Write the unit; a number alone is seconds. Default: 5 seconds.">>}},
           {metrics_allowed_ips,
            #{value => "all | [IP | IP/Mask]",
              desc => <<"Peers allowed to read GET /rest/metrics (Prometheus text), apart "
                        "from allowed_ips; others get 403. Default: loopback only.">>}},
           {health_allowed_ips,
            #{value => "all | [IP | IP/Mask]",
              desc => <<"Peers allowed to call GET /rest/health (a load balancer's check), "
                        "apart from allowed_ips; others get 403. Default: loopback only.">>}},
           {health_timeout,
            #{value => "timeout()",
              desc => <<"How long GET /rest/health waits for the worker's answer to its ping "
                        "before it answers 503. Write the unit ('1 second', '500 ms'); a number alone is milliseconds. Default: 1 second.">>}},
           {idempotency_key_lifetime,
            #{value => "timeout()",
              desc => <<"How long the answer to a POST with an Idempotency-Key is kept: a "
                        "repeat within it gets the kept answer and does nothing. Write the unit "
                        "('24 hours', '30 minutes'); a number alone is seconds. Default: "
                        "24 hours.">>}},
           {idempotency_max_bytes,
            #{value => "pos_integer()",
              desc => <<"Most bytes of kept answers per vhost, cluster-wide; past it the "
                        "oldest keys are forgotten first. An answer larger than this is not "
                        "kept. Default: 67108864 (64 MiB).">>}},
           {idempotency_max_keys,
            #{value => "pos_integer()",
              desc => <<"Most Idempotency-Key keys kept per vhost, cluster-wide; past it the "
                        "oldest are forgotten first. Default: 100000.">>}},
           {max_auth_failures,
            #{value => "pos_integer()",
              desc => <<"Failed '--auth' attempts (Basic passwords and Bearer tokens "
                        "counted with them) a client may make in a minute; beyond that, "
                        "credentials from it are answered 429 with Retry-After before any "
                        "password or token is checked. An attempt is counted before its "
                        "check, so that concurrent ones cannot exceed it. A client is an "
                        "IPv4 address (IPv4-mapped IPv6 included) or an IPv6 /64. The limit "
                        "that applies is the smallest of the Host header's vhost's and the "
                        "account's own vhost's. Default: 10.">>}},
           {max_in_flight,
            #{value => "pos_integer()",
              desc => <<"How many requests may wait for the worker at once, node-wide; "
                        "beyond that a request is answered 503 with Retry-After at once "
                        "instead of queueing. Default: 512.">>}},
           {max_iq_waits,
            #{value => "pos_integer()",
              desc => <<"How many iqs of the authenticated API may wait for their replies at "
                        "once, node-wide (each holds an HTTP connection and a process for up to "
                        "iq_max_timeout; not counted in max_in_flight); beyond that an iq is "
                        "answered 503 with Retry-After at once. A wait whose HTTP client hung "
                        "up is given up within a second. Default: 1000.">>}},
           {max_iq_waits_per_account,
            #{value => "pos_integer()",
              desc => <<"How many iqs of one account may wait for their replies at once; "
                        "beyond that its iqs are answered 429 with Retry-After at once. "
                        "Default: 32.">>}},
           {max_body_size,
            #{value => "pos_integer()",
              desc => <<"Largest request body accepted, in bytes; larger ones are answered "
                        "413 before they reach the worker. Default: 20971520 (20 MiB, where "
                        "ejabberd_http itself stops).">>}},
           {max_xml_elements,
            #{value => "pos_integer()",
              desc => <<"Most elements a stanza may hold; parsing stops past it and the "
                        "request is answered 413. Default: 10000.">>}},
           {max_command_args,
            #{value => "pos_integer()",
              desc => <<"Most arguments a command line may have (not counting the command "
                        "and --auth); splitting stops past it and the request is answered "
                        "413. Default: 256.">>}},
           {max_command_size,
            #{value => "pos_integer()",
              desc => <<"Longest command line accepted, in bytes; a longer one is answered "
                        "413 in the VM, before it is copied to the worker. Default: 262144 "
                        "(256 KiB).">>}},
           {max_xml_depth,
            #{value => "pos_integer()",
              desc => <<"Deepest element nesting accepted in a stanza; deeper ones are "
                        "answered 406. Default: 256.">>}},
           {rate_limit_per_ip,
            #{value => "unlimited | pos_integer()",
              desc => <<"Requests a second accepted from one client IP (the peer, or "
                        "X-Forwarded-For from trusted_proxies); more are answered 429 "
                        "with Retry-After. Default: unlimited.">>}},
           {webhooks,
            #{value => "[{url: URL, domain: Domain, accounts: [JID], ...}]",
              desc => <<"Bots as HTTP services: the stanzas for a subdomain (routed to "
                        "mod_rest like a component) and/or local accounts are POSTed to URL, "
                        "and its answer is the reply. Sub-options: url ({kind} {type} {to} "
                        "{from} are filled in), domain, accounts, when (offline | always), "
                        "stanzas, events (bare | full | host), format (xml | json), secret "
                        "(Webhook-Signature over the delivery id, the timestamp and the body, and X-Mod-Rest-Signature over the body), timeout (a number alone is seconds), "
                        "queue_size, concurrency, retries, retry_delay (a number alone is milliseconds). See docs/webhooks.md. "
                        "Default: [].">>}},
           {worker_executable,
            #{value => "Path",
              desc => <<"The Node.js executable that runs the worker, looked up in PATH "
                        "when not absolute. Node-wide: the first vhost's value applies. "
                        "Default: node.">>}}]}.
