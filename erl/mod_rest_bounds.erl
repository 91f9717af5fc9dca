%% SPDX-License-Identifier: GPL-2.0-or-later
%%%----------------------------------------------------------------------
%%% mod_rest_bounds: the size bounds checked in the VM, before a body is copied into a frame
%%% for the worker (security issue 16, items 6 and 8).
%%%
%%% - The authenticated API sends stanzas, which c2s bounds (max_stanza_size: 256 KiB in
%%%   Debian's configuration; Prosody's mod_rest: rest_stanza_size_limit, 192 KiB): its bodies
%%%   are bounded by api_max_stanza_size, not by the legacy protocol's max_body_size.
%%% - A command line never needs megabytes: one longer than max_command_size is refused here,
%%%   so that a client looping 20 MB lines cannot fill the worker's queue and have other
%%%   clients' cheap requests refused as busy.
%%% The legacy protocol's stanzas keep max_body_size, as the original had them.
%%%----------------------------------------------------------------------
-module(mod_rest_bounds).

-export([check/3, is_api/3, looks_like_xml/1, media_type/1]).

%% The media types only the authenticated API reads (as src/rest/pipeline.ts API_MEDIA_TYPES).
-define(API_MEDIA_TYPES, [<<"application/json">>, <<"application/xmpp+xml">>,
                          <<"application/x-ndjson">>, <<"application/vnd.mod-rest.stanzas+xml">>]).

%% ok, or the refusal: the catalogue code of src/rest/errors.ts.
-spec check(binary(), boolean() | batch, gen_mod:opts()) -> ok | {too_large, binary()}.
check(Body, batch, Opts) ->
    %% A batch of the API (mod_rest_batch:shape/5): its own bound, each item one stanza's.
    case byte_size(Body) > mod_rest_opt:api_max_batch_size(Opts) of
        true -> {too_large, <<"BATCH_TOO_LARGE">>};
        false -> ok
    end;
check(Body, Api, Opts) ->
    Size = byte_size(Body),
    case Api of
        true ->
            case Size > mod_rest_opt:api_max_stanza_size(Opts) of
                true -> {too_large, <<"STANZA_TOO_LARGE">>};
                false -> ok
            end;
        false ->
            %% Only a body that is not XML is a command line (and a non-empty Content-Type
            %% other than the API's does not change that: curl -d sends a form type).
            case Size > mod_rest_opt:max_command_size(Opts) andalso not looks_like_xml(Body) of
                true -> {too_large, <<"COMMAND_TOO_LONG">>};
                false -> ok
            end
    end.

%% Whether the worker will take the request as the authenticated API's: it has credentials,
%% an API media type, or a path below /rest (the legacy protocol has POST /rest alone).
-spec is_api([binary()], boolean(), [{atom() | binary(), binary()}]) -> boolean().
is_api(LocalPath, HasCredentials, Headers) ->
    HasCredentials orelse LocalPath /= []
        orelse lists:any(fun({'Content-Type', V}) -> lists:member(media_type(V), ?API_MEDIA_TYPES);
                            (_) -> false
                         end, Headers).

%% "Application/JSON; charset=utf-8" -> <<"application/json">>.
-spec media_type(binary()) -> binary().
media_type(Value) ->
    [Type | _] = binary:split(Value, <<";">>),
    string:lowercase(string:trim(Type)).

%% As the worker decides it (src/rest/api-paths.ts looksLikeXml): the first byte after an
%% optional UTF-8 BOM and XML whitespace is '<'.
-spec looks_like_xml(binary()) -> boolean().
looks_like_xml(<<16#EF, 16#BB, 16#BF, Rest/binary>>) -> first_is_lt(Rest);
looks_like_xml(Body) -> first_is_lt(Body).

first_is_lt(<<C, Rest/binary>>) when C == $\s; C == $\t; C == $\r; C == $\n -> first_is_lt(Rest);
first_is_lt(<<$<, _/binary>>) -> true;
first_is_lt(_) -> false.
