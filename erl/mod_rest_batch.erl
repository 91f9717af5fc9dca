%% SPDX-License-Identifier: GPL-2.0-or-later
%%%----------------------------------------------------------------------
%%% mod_rest_batch: many stanzas in one request of the authenticated API (issue 18, item 2).
%%%
%%% The worker read every item and checked each as one stanza posted alone (src/rest/batch.ts);
%%% its action {send_batch, Items} comes here only once all of them are read, so that the
%%% worker dying cannot split a batch: from here on nothing asks it anything. The account is
%%% checked once; each item is then sent as mod_rest_api sends one stanza (codec, the account's
%%% own vhost's policy, the sender bound, user_send_packet, the router), in order, and refused
%%% alone; rate_limit_per_ip counts each one. The answer is written here, in JSON, item by item, so that a client retries only what
%%% failed, even when the worker is gone.
%%%----------------------------------------------------------------------
-module(mod_rest_batch).

-export([start/0, shape/5, send/2, answer_json/1]).

-include("logger.hrl").

-define(METRIC, mod_rest_batch_items_total).

-type item() :: {send, fxml:xmlel()} | {refused, pos_integer(), binary()}.
-type result() :: {sent, binary()} | {refused, pos_integer(), binary()}.

%% The batches' figure in /rest/metrics: their stanzas, sent or refused (idempotent).
-spec start() -> ok.
start() ->
    mod_rest_metrics:declare(?METRIC, counter, <<"Stanzas of batch requests of the API, by outcome.">>,
                             outcome, [sent, refused]),
    ok.

%% What mod_rest_bounds holds a request of the API to: a batch's bound when it is one, as the
%% worker tells it (src/rest/batch.ts isBatchRequest): POST /rest with a batch's media type, or
%% application/json whose first byte is '['.
-spec shape(boolean(), [binary()], atom() | binary(), [{atom() | binary(), binary()}], binary()) -> boolean() | batch.
shape(true, [], 'POST', Headers, Body) ->
    case [mod_rest_bounds:media_type(V) || {'Content-Type', V} <- Headers] of
        [<<"application/x-ndjson">> | _] -> batch;
        [<<"application/vnd.mod-rest.stanzas+xml">> | _] -> batch;
        [<<"application/json">> | _] ->
            case first_byte(Body) of
                $[ -> batch;
                _ -> true
            end;
        _ -> true
    end;
shape(Api, _LocalPath, _Method, _Headers, _Body) ->
    Api.

%% The first byte that is not JSON whitespace.
first_byte(<<C, Rest/binary>>) when C == $\s; C == $\t; C == $\r; C == $\n -> first_byte(Rest);
first_byte(<<C, _/binary>>) -> C;
first_byte(<<>>) -> none.

-spec send([item()], mod_rest_api:context()) -> mod_rest_api:outcome().
send(Items, Context) ->
    case mod_rest_api:checked_account(Context) of
        {refused, Outcome} -> Outcome;
        {ok, Account} ->
            Context1 = Context#{account => Account},
            Results = results(Items, Context1, true, []),
            Sent = length([R || {sent, _} = R <- Results]),
            _ = mod_rest_metrics:inc(?METRIC, sent, Sent),
            _ = mod_rest_metrics:inc(?METRIC, refused, length(Results) - Sent),
            {200, [], <<"application/json">>, answer_json(Results)}
    end.

%% In order. rate_limit_per_ip counts stanzas, not requests, for a batch: the request counted
%% its first item; each further one is counted as it is sent, and refused 429 past the limit,
%% so that a batch does not multiply what one request of the window may send.
results([], _Context, _First, Acc) ->
    lists:reverse(Acc);
results([{send, _} = Item | Rest], Context, First, Acc) ->
    Result = case First orelse counted(Context) of
                 true -> result(Item, Context);
                 false -> {refused, 429, <<"BATCH_RATE_LIMITED">>}
             end,
    results(Rest, Context, false, [Result | Acc]);
results([Item | Rest], Context, First, Acc) ->
    results(Rest, Context, First, [result(Item, Context) | Acc]).

counted(#{ip := IP, opts := Opts}) ->
    mod_rest_rate:check(IP, mod_rest_opt:rate_limit_per_ip(Opts), erlang:monotonic_time(millisecond)) == ok.

-spec result(item(), mod_rest_api:context()) -> result().
result({send, El}, Context) ->
    try {sent, mod_rest_api:route_one(El, Context)}
    catch throw:{refused, Status, Code} -> {refused, Status, Code};
          throw:{refused, Status, Code, _Detail} -> {refused, Status, Code};
          Class:Reason:Stack ->
              %% One item's defect must not cost the others their answers (some are sent).
              ?ERROR_MSG("mod_rest: internal error on a batch item: ~ts",
                         [misc:format_exception(2, Class, Reason, Stack)]),
              {refused, 500, <<"INTERNAL">>}
    end;
result({refused, Status, Code}, _Context) when is_integer(Status), is_binary(Code) ->
    {refused, Status, Code};
result(_Garbled, _Context) ->
    {refused, 500, <<"INTERNAL">>}.

%% {"sent": N, "refused": M, "results": [{"status": 202, "id": Id} | {"status": S, "error": Code}]},
%% one result per item, in the items' order. Codes are the catalogue's (src/rest/errors.ts).
-spec answer_json([result()]) -> binary().
answer_json(Results) ->
    Sent = length([R || {sent, _} = R <- Results]),
    Items = lists:join($,, [item_json(R) || R <- Results]),
    iolist_to_binary([<<"{\"sent\":">>, integer_to_binary(Sent),
                      <<",\"refused\":">>, integer_to_binary(length(Results) - Sent),
                      <<",\"results\":[">>, Items, <<"]}">>]).

item_json({sent, Id}) ->
    [<<"{\"status\":202,\"id\":">>, json_string(Id), $}];
item_json({refused, Status, Code}) ->
    [<<"{\"status\":">>, integer_to_binary(Status), <<",\"error\":">>, json_string(Code), $}].

%% A JSON string (RFC 8259 §7): UTF-8 passes through, quotes, backslashes and controls escaped.
json_string(Bin) ->
    [$", [escape(C) || <<C>> <= Bin], $"].

escape($") -> <<"\\\"">>;
escape($\\) -> <<"\\\\">>;
escape(C) when C < 16#20 -> io_lib:format("\\u~4.16.0b", [C]);
escape(C) -> C.
