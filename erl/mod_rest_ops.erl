%% SPDX-License-Identifier: GPL-2.0-or-later
%%%----------------------------------------------------------------------
%%% mod_rest_ops: GET /rest/metrics and GET /rest/health, answered in the VM.
%%%
%%% Neither reaches the worker as a request: metrics are read from mod_rest_metrics, and the
%%% health check is one ping frame through the worker's main loop (mod_rest_port:ping/2) with
%%% a short deadline (health_timeout), so that a 200 means the worker answers now; nothing is
%%% cached, and concurrent checks share one ping (mod_rest_health). Each path is open to the
%%% addresses of its own option (metrics_allowed_ips, health_allowed_ips; loopback by
%%% default), apart from allowed_ips, and is not subject to rate_limit_per_ip: a load
%%% balancer checking every second must not be refused for it.
%%% Also the `mod_rest_stats` ejabberd command (the same text as /rest/metrics).
%%%----------------------------------------------------------------------
-module(mod_rest_ops).

-export([is_ops_path/1, handle/4, ip_allowed/2]).
-export([register_commands/0, unregister_commands/0, mod_rest_stats/0]).

-include("ejabberd_commands.hrl").

-define(TEXT, [{<<"Content-Type">>, <<"text/plain; charset=utf-8">>},
               {<<"X-Content-Type-Options">>, <<"nosniff">>},
               {<<"Cache-Control">>, <<"no-store">>}]).

-type http_answer() :: {pos_integer(), binary(), [{binary(), binary()}], binary()}.

-spec is_ops_path([binary()]) -> boolean().
is_ops_path([<<"metrics">>]) -> true;
is_ops_path([<<"health">>]) -> true;
is_ops_path(_) -> false.

%% LocalPath is one is_ops_path/1 accepted; Opts the chosen vhost's options.
-spec handle([binary()], atom() | binary(), inet:ip_address(), gen_mod:opts()) -> http_answer().
handle(_Path, Method, _IP, _Opts) when Method /= 'GET', Method /= 'HEAD' ->
    {405, <<"Method Not Allowed">>, [{<<"Allow">>, <<"GET, HEAD">>} | ?TEXT],
     <<"Error: /rest/metrics and /rest/health answer GET and HEAD only.">>};
handle([<<"metrics">>], _Method, IP, Opts) ->
    case ip_allowed(IP, mod_rest_opt:metrics_allowed_ips(Opts)) of
        true ->
            {200, <<"OK">>, [{<<"Content-Type">>, mod_rest_metrics:content_type()} | tl(?TEXT)],
             mod_rest_metrics:prometheus()};
        false ->
            text(403, <<"Error: this address may not read /rest/metrics (metrics_allowed_ips).">>)
    end;
handle([<<"health">>], _Method, IP, Opts) ->
    case ip_allowed(IP, mod_rest_opt:health_allowed_ips(Opts)) of
        true -> health(Opts);
        false -> text(403, <<"Error: this address may not read /rest/health (health_allowed_ips).">>)
    end.

health(Opts) ->
    Started = erlang:monotonic_time(microsecond),
    case mod_rest_health:check(mod_rest_opt:health_timeout(Opts), mod_rest_opt:max_in_flight(Opts)) of
        ok ->
            Micros = erlang:monotonic_time(microsecond) - Started,
            text(200, iolist_to_binary(io_lib:format("OK: the REST worker answered in ~.3f ms.",
                                                     [Micros / 1000])));
        {error, Why} ->
            text(503, unhealthy(Why))
    end.

unhealthy(timeout) -> <<"Error: unhealthy: the REST worker did not answer the health check in time.">>;
unhealthy(overloaded) -> <<"Error: unhealthy: too many requests in flight (max_in_flight).">>;
unhealthy(busy) -> <<"Error: unhealthy: the REST worker's input is full.">>;
unhealthy(worker_died) -> <<"Error: unhealthy: the REST worker stopped during the health check.">>;
unhealthy(garbled) -> <<"Error: unhealthy: the REST worker failed.">>;
unhealthy(_) -> <<"Error: unhealthy: the REST worker is not running.">>.

%% IPv4-mapped IPv6 peers match IPv4 entries (misc:match_ip_mask/3), as for allowed_ips.
-spec ip_allowed(inet:ip_address(), all | [{inet:ip_address(), 0..128}]) -> boolean().
ip_allowed(_IP, all) -> true;
ip_allowed(IP, Masks) ->
    lists:any(fun({Mask, Len}) -> misc:match_ip_mask(IP, Mask, Len) end, Masks).

text(Status, Body) ->
    {Status, reason_phrase(Status), ?TEXT, Body}.

reason_phrase(200) -> <<"OK">>;
reason_phrase(403) -> <<"Forbidden">>;
reason_phrase(503) -> <<"Service Unavailable">>.

%%%===================================================================
%%% The mod_rest_stats command (ejabberdctl mod_rest_stats)
%%%===================================================================
-spec register_commands() -> ok.
register_commands() ->
    %% The definer is the gen_mod: `ejabberdctl help` (23.01) reads its behaviour attribute,
    %% and crashed on a module that declares none.
    ejabberd_commands:register_commands(mod_rest, commands()).

-spec unregister_commands() -> ok.
unregister_commands() ->
    ejabberd_commands:unregister_commands(commands()).

commands() ->
    [#ejabberd_commands{
        name = mod_rest_stats, tags = [stats],
        desc = "mod_rest's figures on this node, in Prometheus text format",
        longdesc = "The same text as GET /rest/metrics: requests by route and status class, "
                   "latency histograms, bytes, requests in flight, worker state and restarts, "
                   "refusals (rate-limited, overloaded), and the figures other modules declare.",
        module = ?MODULE, function = mod_rest_stats,
        args = [], result = {stats, string},
        result_example = "# HELP mod_rest_requests_total ...",
        policy = admin}].

-spec mod_rest_stats() -> string().
mod_rest_stats() ->
    binary_to_list(mod_rest_metrics:prometheus()).
