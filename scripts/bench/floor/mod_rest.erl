%% SPDX-License-Identifier: GPL-2.0-or-later
%%%----------------------------------------------------------------------
%%% The design's floor, for the benchmark only (scripts/bench.ts, BENCH_OURS; never installed):
%%% the least any module of mod_rest's design can do for a legacy stanza. Each request makes
%%% one round trip through an Erlang port to a worker that echoes its frame unread
%%% (echo-worker.js), then does what the original does in the VM: parse, the sender's
%%% user_send_packet hook, route, "Ok". No checks, no options, no metrics, one process hop
%%% each way. What this costs above the original is the price of the extra process itself:
%%% only batching the port writes of many requests (which ours does, this does not) could make
%%% an implementation of the design cheaper, so its ratio to the original bounds ours.
%%% With an Idempotency-Key header, the least a key can cost: a claim (ets:insert_new) and the
%%% answer kept (ets:insert) in a table of this node -- no cluster, no fingerprint, no bounds,
%%% no expiry -- so that make bench's idempotency scenario on it bounds mod_rest_idempotency.
%%%----------------------------------------------------------------------
-module(mod_rest).
-behaviour(gen_mod).
-export([start/2, stop/1, reload/3, depends/2, mod_options/1, mod_opt_type/1, mod_doc/0, process/2]).

-define(NS_CLIENT, <<"jabber:client">>).
-include("ejabberd_http.hrl").

-define(PORT, {?MODULE, floor_port}).

start(_Host, _Opts) ->
    case whereis(mod_rest_floor) of
        undefined ->
            Self = self(),
            Pid = spawn(fun() -> owner(Self) end),
            receive {Pid, ready} -> ok after 10000 -> error(floor_worker_not_started) end;
        _ -> ok
    end.

stop(_Host) -> ok.
reload(_Host, _NewOpts, _OldOpts) -> ok.
depends(_Host, _Opts) -> [].
%% Accepts the options make bench gives ours, and ignores them.
mod_options(_Host) -> [{allowed_ips, []}, {access_commands, open}, {worker_executable, <<"node">>}].
mod_opt_type(_) -> econf:any().
mod_doc() -> #{}.

process(LocalPath, #request{method = 'POST', headers = Headers} = Request) ->
    case [V || {<<"Idempotency-Key">>, V} <- Headers] ++ [V || {<<"idempotency-key">>, V} <- Headers] of
        [] -> send(LocalPath, Request);
        [Key | _] ->
            case ets:insert_new(mod_rest_floor_keys, {Key, pending}) of
                false -> {409, [], <<"in flight or done">>};
                true ->
                    Answer = send(LocalPath, Request),
                    ets:insert(mod_rest_floor_keys, {Key, Answer}),
                    Answer
            end
    end;
process(_LocalPath, _Request) ->
    {200, [], <<"the design floor: POST a stanza">>}.   % the sandbox waits for a 200 on GET

send(_LocalPath, #request{data = Data, ip = {IP, _}}) ->
    Alias = alias([reply]),
    true = erlang:port_command(persistent_term:get(?PORT), term_to_binary({Alias, Data})),
    Body = receive {Alias, B} -> B after 5000 -> error(floor_timeout) end,
    Pkt = xmpp:decode(fxml_stream:parse_element(Body), ?NS_CLIENT, [ignore_els]),
    From = xmpp:get_from(Pkt),
    {U, S, R} = jid:tolower(From),
    C2SState = #{jid => From, user => U, server => S, resource => R, lserver => S,
                 ip => {IP, 0}, lang => <<"en">>},
    {Pkt1, _} = ejabberd_hooks:run_fold(user_send_packet, S, {Pkt, C2SState}, []),
    ejabberd_router:route(Pkt1),
    {200, [{<<"Content-Type">>, <<"text/plain">>}], <<"Ok">>}.

owner(Starter) ->
    register(mod_rest_floor, self()),
    ets:new(mod_rest_floor_keys, [named_table, public, set, {write_concurrency, true}]),
    Script = filename:join([code:priv_dir(mod_rest), "worker", "main.js"]),
    Port = open_port({spawn_executable, os:find_executable("node")},
                     [{packet, 4}, binary, use_stdio, {args, [Script]}]),
    persistent_term:put(?PORT, Port),
    Starter ! {self(), ready},
    loop(Port).

loop(Port) ->
    receive
        {Port, {data, Frame}} ->
            {Alias, Body} = binary_to_term(Frame),
            Alias ! {Alias, Body},
            loop(Port);
        _ -> loop(Port)
    end.
