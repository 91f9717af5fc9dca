%% SPDX-License-Identifier: GPL-2.0-or-later
%%%----------------------------------------------------------------------
%%% Option accessors for mod_rest, in the shape of ejabberd's generated mod_*_opt.erl:
%%% each takes a vhost or an already-validated options map.
%%%----------------------------------------------------------------------
-module(mod_rest_opt).

-export([access_commands/1, allowed_destinations/1, allowed_ips/1, allowed_origins/1, allowed_senders/1,
         api_access/1, api_allowed_ips/1, api_allowed_origins/1, api_max_batch_items/1, api_max_batch_size/1, api_max_stanza_size/1, iq_max_timeout/1, iq_timeout/1,
         allowed_stanza_types/1, health_allowed_ips/1, health_timeout/1, idempotency_key_lifetime/1,
         idempotency_max_bytes/1, idempotency_max_keys/1, max_auth_failures/1,
         max_body_size/1, max_command_args/1, max_command_size/1, max_in_flight/1, max_iq_waits/1,
         max_iq_waits_per_account/1, max_xml_depth/1, max_xml_elements/1,
         metrics_allowed_ips/1, rate_limit_per_ip/1, request_timeout/1, webhooks/1, worker_executable/1]).

-spec access_commands(gen_mod:opts() | binary()) -> mod_rest_command:access_commands().
access_commands(Opts) -> get(access_commands, Opts).

-spec allowed_destinations(gen_mod:opts() | binary()) -> all | [jid:jid()].
allowed_destinations(Opts) -> get(allowed_destinations, Opts).

-spec allowed_ips(gen_mod:opts() | binary()) -> all | [{inet:ip_address(), 0..128}].
allowed_ips(Opts) -> get(allowed_ips, Opts).

-spec allowed_origins(gen_mod:opts() | binary()) -> all | [binary()].
allowed_origins(Opts) -> get(allowed_origins, Opts).

-spec api_access(gen_mod:opts() | binary()) -> atom().
api_access(Opts) -> get(api_access, Opts).

-spec api_allowed_ips(gen_mod:opts() | binary()) -> all | [{inet:ip_address(), 0..128}].
api_allowed_ips(Opts) -> get(api_allowed_ips, Opts).

-spec api_allowed_origins(gen_mod:opts() | binary()) -> all | [binary()].
api_allowed_origins(Opts) -> get(api_allowed_origins, Opts).

-spec api_max_batch_items(gen_mod:opts() | binary()) -> pos_integer().
api_max_batch_items(Opts) -> get(api_max_batch_items, Opts).

-spec api_max_batch_size(gen_mod:opts() | binary()) -> pos_integer().
api_max_batch_size(Opts) -> get(api_max_batch_size, Opts).
-spec api_max_stanza_size(gen_mod:opts() | binary()) -> pos_integer().
api_max_stanza_size(Opts) -> get(api_max_stanza_size, Opts).

-spec iq_max_timeout(gen_mod:opts() | binary()) -> pos_integer().
iq_max_timeout(Opts) -> get(iq_max_timeout, Opts).

-spec iq_timeout(gen_mod:opts() | binary()) -> pos_integer().
iq_timeout(Opts) -> get(iq_timeout, Opts).

-spec allowed_senders(gen_mod:opts() | binary()) -> all | [jid:jid()].
allowed_senders(Opts) -> get(allowed_senders, Opts).

-spec allowed_stanza_types(gen_mod:opts() | binary()) -> all | [message | presence | iq].
allowed_stanza_types(Opts) -> get(allowed_stanza_types, Opts).

-spec health_allowed_ips(gen_mod:opts() | binary()) -> all | [{inet:ip_address(), 0..128}].
health_allowed_ips(Opts) -> get(health_allowed_ips, Opts).

-spec health_timeout(gen_mod:opts() | binary()) -> pos_integer().
health_timeout(Opts) -> get(health_timeout, Opts).

-spec idempotency_key_lifetime(gen_mod:opts() | binary()) -> pos_integer().
idempotency_key_lifetime(Opts) -> get(idempotency_key_lifetime, Opts).

-spec idempotency_max_bytes(gen_mod:opts() | binary()) -> pos_integer().
idempotency_max_bytes(Opts) -> get(idempotency_max_bytes, Opts).

-spec idempotency_max_keys(gen_mod:opts() | binary()) -> pos_integer().
idempotency_max_keys(Opts) -> get(idempotency_max_keys, Opts).

-spec metrics_allowed_ips(gen_mod:opts() | binary()) -> all | [{inet:ip_address(), 0..128}].
metrics_allowed_ips(Opts) -> get(metrics_allowed_ips, Opts).

-spec max_body_size(gen_mod:opts() | binary()) -> pos_integer().
max_body_size(Opts) -> get(max_body_size, Opts).

-spec max_xml_elements(gen_mod:opts() | binary()) -> pos_integer().
max_xml_elements(Opts) -> get(max_xml_elements, Opts).

-spec max_command_args(gen_mod:opts() | binary()) -> pos_integer().
max_command_args(Opts) -> get(max_command_args, Opts).

-spec max_command_size(gen_mod:opts() | binary()) -> pos_integer().
max_command_size(Opts) -> get(max_command_size, Opts).

-spec max_xml_depth(gen_mod:opts() | binary()) -> pos_integer().
max_xml_depth(Opts) -> get(max_xml_depth, Opts).

-spec max_auth_failures(gen_mod:opts() | binary()) -> pos_integer().
max_auth_failures(Opts) -> get(max_auth_failures, Opts).

-spec max_in_flight(gen_mod:opts() | binary()) -> pos_integer().
max_in_flight(Opts) -> get(max_in_flight, Opts).

-spec max_iq_waits(gen_mod:opts() | binary()) -> pos_integer().
max_iq_waits(Opts) -> get(max_iq_waits, Opts).

-spec max_iq_waits_per_account(gen_mod:opts() | binary()) -> pos_integer().
max_iq_waits_per_account(Opts) -> get(max_iq_waits_per_account, Opts).

-spec rate_limit_per_ip(gen_mod:opts() | binary()) -> unlimited | pos_integer().
rate_limit_per_ip(Opts) -> get(rate_limit_per_ip, Opts).

-spec request_timeout(gen_mod:opts() | binary()) -> pos_integer().
request_timeout(Opts) -> get(request_timeout, Opts).

-spec webhooks(gen_mod:opts() | binary()) -> [map()].
webhooks(Opts) -> get(webhooks, Opts).

-spec worker_executable(gen_mod:opts() | binary()) -> binary().
worker_executable(Opts) -> get(worker_executable, Opts).

get(Opt, Opts) when is_map(Opts) -> gen_mod:get_opt(Opt, Opts);
get(Opt, Host) -> gen_mod:get_module_opt(Host, mod_rest, Opt).
