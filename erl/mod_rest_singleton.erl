%% SPDX-License-Identifier: GPL-2.0-or-later
%%%----------------------------------------------------------------------
%%% mod_rest_singleton: the node-wide processes of mod_rest (the port owner, the idempotency
%%% sweeper, the sampler), one per node whatever the number of vhosts, each a transient child
%%% of ejabberd's gen_mod supervisor that the first vhost starts and the last one stops.
%%%----------------------------------------------------------------------
-module(mod_rest_singleton).

-export([ensure_started/2, stop/1]).

%% Starts Module:start_link() under ejabberd_gen_mod_sup unless it runs; a child left there
%% stopped (by a crash past its restarts, or a stop that did not delete it) is restarted.
-spec ensure_started(module(), timeout()) -> ok | {error, term()}.
ensure_started(Module, Shutdown) ->
    Spec = #{id => Module, start => {Module, start_link, []}, restart => transient,
             shutdown => Shutdown, type => worker, modules => [Module]},
    case supervisor:start_child(ejabberd_gen_mod_sup, Spec) of
        {ok, _} -> ok;
        {error, {already_started, _}} -> ok;
        {error, already_present} ->
            case supervisor:restart_child(ejabberd_gen_mod_sup, Module) of
                {ok, _} -> ok;
                {error, running} -> ok;
                Err -> Err
            end;
        Err -> Err
    end.

-spec stop(module()) -> ok.
stop(Module) ->
    _ = supervisor:terminate_child(ejabberd_gen_mod_sup, Module),
    _ = supervisor:delete_child(ejabberd_gen_mod_sup, Module),
    ok.
