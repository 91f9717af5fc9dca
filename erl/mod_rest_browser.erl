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
%% ejabberd_http knows Origin and Sec-Fetch-Site by no atom: they come as binaries, as sent;
%% the first of each is the one read.
-spec request_fields(#request{}, mod_rest_api:credentials()) -> map().
%% A request with neither Origin nor Sec-Fetch-Site is no browser's cross-origin request
%% (browser.ts decides nothing for it): it carries no fields, and costs one pass over the headers.
request_fields(#request{tp = TP, headers = Headers}, Credentials) ->
    case browser_headers(Headers, undefined, undefined) of
        {undefined, undefined} -> #{};
        {Origin, FetchSite} -> fields(TP, Headers, Credentials, Origin, FetchSite)
    end.

browser_headers([{Name, Value} | Rest], Origin, FetchSite) when is_binary(Name) ->
    case byte_size(Name) of
        6 when Origin == undefined ->
            case mod_rest_api:header_values(<<"origin">>, [{Name, Value}]) of
                [V] -> browser_headers(Rest, V, FetchSite);
                [] -> browser_headers(Rest, Origin, FetchSite)
            end;
        14 when FetchSite == undefined ->
            case mod_rest_api:header_values(<<"sec-fetch-site">>, [{Name, Value}]) of
                [V] -> browser_headers(Rest, Origin, V);
                [] -> browser_headers(Rest, Origin, FetchSite)
            end;
        _ -> browser_headers(Rest, Origin, FetchSite)
    end;
browser_headers([_ | Rest], Origin, FetchSite) ->
    browser_headers(Rest, Origin, FetchSite);
browser_headers([], Origin, FetchSite) ->
    {Origin, FetchSite}.

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
