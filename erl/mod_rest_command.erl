%%%----------------------------------------------------------------------
%%% mod_rest_command: runs an ejabberdctl command line for mod_rest, in the VM.
%%%
%%% ejabberd_ctl:process2/2 neither checks --auth passwords nor applies its access
%%% argument, and it turns command names into atoms. So, in this order: the credentials
%%% are checked (ejabberd_auth), then access_commands (acl:match_rule/3), then the command
%%% must already exist and get the right number of arguments; only then does process2 run
%%% it, so its text output is exactly what ejabberdctl prints.
%%%----------------------------------------------------------------------
-module(mod_rest_command).

-export([run/5]).
-export([rules_for/2, exit_status/1, arity_error/3, output_to_binary/1, suggest/2]).

-include("logger.hrl").
-include("ejabberd_commands.hrl").

%% ejabberd_ctl's "latest API version": commands of every version are visible.
-define(API_VERSION, 1000000).
%% Command names are under 40 characters; "Did you mean" needs no more of a request's name.
-define(SUGGESTION_PREFIX, 48).

-type auth() :: none | {binary(), binary(), binary()}.
-type access_commands() :: [{atom(), all | [atom()]}].

%% Returns the HTTP status and body.
-spec run(binary(), binary(), [binary()], auth(), access_commands()) -> {pos_integer(), binary()}.
run(Host, Name, Args, Auth, AccessCommands) ->
    try
        Caller = authenticate(Auth),
        authorize(Host, Name, Caller, AccessCommands),
        Command = known_command(Name),
        check_arity(Name, Command, Args, Auth),
        execute(Name, Args, Auth)
    catch throw:{refused, Status, Body} ->
            {Status, iolist_to_binary(Body)}
    end.

%% A wrong password is refused whether or not access_commands is set.
authenticate(none) ->
    none;
authenticate({User, Server, Password}) ->
    JID = jid:make(User, Server),
    Valid = JID /= error andalso
        begin
            {LUser, LServer, _} = jid:tolower(JID),
            (catch ejabberd_auth:check_password(LUser, <<>>, LServer, Password)) == true
        end,
    case Valid of
        true -> JID;
        false ->
            %% Never the password, and not even the user name at info level: this is a probe.
            ?INFO_MSG("mod_rest: --auth refused for a command", []),
            throw({refused, 401, <<"Error: invalid --auth credentials.">>})
    end.

authorize(_Host, _Name, _Caller, []) ->
    ok;
authorize(_Host, _Name, none, _AccessCommands) ->
    throw({refused, 401, <<"Error: access_commands is set: send --auth USER HOST PASSWORD first.">>});
authorize(Host, Name, Caller, AccessCommands) ->
    Allowed = lists:any(fun(Rule) -> acl:match_rule(Host, Rule, Caller) == allow end,
                        rules_for(Name, AccessCommands)),
    case Allowed of
        true -> ok;
        false ->
            ?INFO_MSG("mod_rest: ~ts may not run '~ts'", [jid:encode(Caller), Name]),
            throw({refused, 403, [<<"Error: ">>, jid:encode(Caller),
                                  <<" is not allowed to run '">>, Name, <<"'.">>]})
    end.

%% The access rules that govern Name: those whose command list names it, or is `all`.
-spec rules_for(binary(), access_commands()) -> [atom()].
rules_for(Name, AccessCommands) ->
    Norm = normalise(Name),
    [Rule || {Rule, Commands} <- AccessCommands,
             Commands == all orelse
                 lists:any(fun(C) -> atom_to_binary(C, utf8) == Norm end, Commands)].

%% ejabberdctl accepts dashes for underscores.
normalise(Name) ->
    binary:replace(Name, <<"-">>, <<"_">>, [global]).

%% Never list_to_atom on request data: an unknown name is not an existing atom.
%% Returns the command's definition.
known_command(Name) ->
    try
        Command = binary_to_existing_atom(normalise(Name), utf8),
        #ejabberd_commands{} = definition(Command)
    catch _:_ ->
            Known = [C || {C, _, _} <- ejabberd_commands:list_commands(?API_VERSION)],
            Guess = suggest(Name, Known),
            throw({refused, 400, io_lib:format("Error: unknown command '~ts'. Did you mean '~ts'?",
                                               [Name, Guess])})
    end.

%% What ejabberd_commands:get_command_definition/2 answers: the highest version up to ours.
%% It finds it by scanning the whole table with a match spec (~25 us a request); the table is
%% a bag keyed by the command's name, so a key read finds the same rows. When it finds none
%% (an unknown name, or a table laid out otherwise), ejabberd_commands' own lookup decides.
definition(Command) ->
    Rows = try mnesia:dirty_read(ejabberd_commands, Command)
           catch _:_ -> unreadable
           end,
    case Rows of
        [#ejabberd_commands{} | _] ->
            {_, Definition} = lists:max([{V, D} || #ejabberd_commands{version = V} = D <- Rows,
                                                   V =< ?API_VERSION]),
            Definition;
        _ -> ejabberd_commands:get_command_definition(Command, ?API_VERSION)   % throws if unknown
    end.

%% As ejabberd_commands:get_command_format/3 counts them for process2: without --auth, a
%% user-policy command takes the user and host as its first two arguments.
check_arity(Name, #ejabberd_commands{args = Format, policy = Policy}, Args, Auth) ->
    Wanted = case {Policy, Auth} of
                 {user, none} -> length(Format) + 2;
                 _ -> length(Format)
             end,
    case arity_error(Name, Wanted, length(Args)) of
        ok -> ok;
        Message -> throw({refused, 400, Message})
    end.

%% The known name closest to Name by edit distance, ties going to the smaller name: what
%% ejabberd's misc:best_match/2 answers, computed in linear space and only over a prefix of
%% Name as long as a command name can be (misc's memoised version took minutes on long names,
%% and ~10 ms a request on short ones).
-spec suggest(binary(), [atom()]) -> string().
suggest(Name, Known) ->
    Prefix = binary_to_list(binary:part(Name, 0, min(byte_size(Name), ?SUGGESTION_PREFIX))),
    {_, Best} = lists:min([{distance(Prefix, S), S} || K <- Known, S <- [atom_to_list(K)]]),
    Best.

%% Levenshtein distance, one row of the table at a time.
distance(S, T) ->
    distance(S, T, lists:seq(0, length(T)), 1).

distance([], _T, Row, _I) -> lists:last(Row);
distance([C | S], T, Prev, I) -> distance(S, T, next_row(C, T, Prev, [I]), I + 1).

next_row(_C, [], _Prev, Acc) -> lists:reverse(Acc);
next_row(C, [D | T], [Diag, Up | Prev], [Left | _] = Acc) ->
    Cost = case C of D -> 0; _ -> 1 end,
    next_row(C, T, [Up | Prev], [min(min(Up, Left) + 1, Diag + Cost) | Acc]).

%% The same words ejabberdctl uses.
-spec arity_error(binary(), non_neg_integer(), non_neg_integer()) -> ok | binary().
arity_error(_Name, N, N) -> ok;
arity_error(Name, Wanted, Given) when Wanted > Given ->
    iolist_to_binary(io_lib:format("Error: the command '~ts' requires ~B more argument.",
                                   [Name, Wanted - Given]));
arity_error(Name, Wanted, Given) ->
    iolist_to_binary(io_lib:format("Error: the command '~ts' requires ~B less argument.",
                                   [Name, Given - Wanted])).

execute(Name, Args, Auth) ->
    Line = [unicode:characters_to_list(A) || A <- [Name | Args]],
    CtlArgs = case Auth of
                  none -> Line;
                  {U, S, P} -> ["--auth" | [binary_to_list(X) || X <- [U, S, P]]] ++ Line
              end,
    ?DEBUG("mod_rest: running command '~ts' with ~B arguments", [Name, length(Args)]),
    {Text, Code} = ejabberd_ctl:process2(CtlArgs, []),
    Body = case Text of
               "" -> integer_to_binary(Code);
               _ -> output_to_binary(Text)
           end,
    {exit_status(Code), Body}.

%% process2's text is mostly UTF-8 bytes (its formatter prints binaries with binary_to_list),
%% sometimes code points: bytes as they are, as ejabberdctl writes them; code points encoded.
-spec output_to_binary(string()) -> binary().
output_to_binary(Text) ->
    try iolist_to_binary(Text)
    catch error:badarg -> unicode:characters_to_binary(Text)
    end.

%% ejabberdctl's exit code as an HTTP status: 0 is success; anything else means the command
%% ran and reported failure (the original answered 200 for both).
-spec exit_status(integer()) -> pos_integer().
exit_status(0) -> 200;
exit_status(_) -> 422.

