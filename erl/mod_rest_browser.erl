%% SPDX-License-Identifier: GPL-2.0-or-later
%%%----------------------------------------------------------------------
%%% mod_rest_browser: what the worker needs to know of a request a web browser may have sent.
%%%
%%% The decision (cross-site request forgery refused, CORS for the origins the options list)
%%% is the worker's (src/rest/browser.ts); the VM only reads the headers browsers set (Origin,
%%% Sec-Fetch-Site), the request's own origin (the listener's scheme and the Host header) and
%%% the Authorization scheme into the request frame, and adds the headers the worker asks for
%%% ({with_headers, Headers, Action}) to whatever answer Action gets.
%%%----------------------------------------------------------------------
-module(mod_rest_browser).

-export([request_fields/2, origins_opt_type/0]).

-include("ejabberd_http.hrl").

%% The request frame's optional browser fields (origin, fetch_site, own_origin, auth_scheme).
%% A request with neither Origin nor Sec-Fetch-Site is no browser's cross-origin request
%% (browser.ts decides nothing for it) and carries none. ejabberd_http knows these two headers
%% by no atom: they come as binaries, as sent; the first of each is the one read.
-spec request_fields(#request{}, mod_rest_api:credentials()) -> map().
request_fields(#request{tp = TP, headers = Headers}, Credentials) ->
    case {first(<<"origin">>, Headers), first(<<"sec-fetch-site">>, Headers)} of
        {undefined, undefined} -> #{};
        {Origin, FetchSite} -> fields(TP, Headers, Credentials, Origin, FetchSite)
    end.

first(Name, Headers) ->
    case mod_rest_api:header_values(Name, Headers) of
        [Value | _] -> Value;
        [] -> undefined
    end.

fields(TP, Headers, Credentials, Origin, FetchSite) ->
    Fields = [{origin, Origin},
              {fetch_site, FetchSite},
              {own_origin, case [V || {'Host', V} <- Headers] of
                               [Host | _] -> <<(scheme(TP))/binary, "://", Host/binary>>;
                               [] -> undefined
                           end},
              {auth_scheme, case Credentials of
                                none -> undefined;
                                {Scheme, _} -> atom_to_binary(Scheme, utf8);
                                {Scheme, _, _} -> atom_to_binary(Scheme, utf8);
                                invalid -> <<"other">>
                            end}],
    maps:from_list([{K, V} || {K, V} <- Fields, V /= undefined]).

scheme(https) -> <<"https">>;
scheme(_) -> <<"http">>.

%% allowed_origins and api_allowed_origins: all, or origins as browsers send them
%% (scheme://host[:port], no path); the worker compares them normalised (RFC 6454 §6.2).
-spec origins_opt_type() -> econf:validator().
origins_opt_type() ->
    econf:either(econf:enum([all]),
                 econf:list(econf:binary("^[Hh][Tt][Tt][Pp][Ss]?://[^/?#@[:space:]]+$"))).
