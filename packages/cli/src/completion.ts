/**
 * `dk-bootstrap completion bash|zsh|fish`: a completion script made from the CLI's own commands and options (so it
 * never lists a flag that is gone), as kubectl and helm print theirs: `source <(dk-bootstrap completion bash)`.
 * Words are completed per command path (`certs renew` has its own options); files are left to the shell.
 */
import { InputError } from "@dk-bootstrap/pki";
import type { Command } from "commander";

interface Entry {
  path: string;
  words: string[];
}

/** Every command path with the words that may follow it: its subcommands, then its long options. */
function entries(program: Command): Entry[] {
  const out: Entry[] = [];
  const walk = (cmd: Command, path: string[]) => {
    const subs = cmd.commands.filter((c) => !(c as unknown as { _hidden?: boolean })._hidden).map((c) => c.name());
    const flags = cmd.options.map((o) => o.long).filter((l): l is string => l !== undefined);
    out.push({ path: path.join(" "), words: [...subs, ...flags, "--help"] });
    for (const c of cmd.commands) walk(c, [...path, c.name()]);
  };
  walk(program, []);
  return out;
}

/** The script for `shell`. */
export function completionScript(program: Command, shell: string): string {
  const list = entries(program);
  // The longest command path among the words typed so far picks the list (bash and zsh share the function).
  const cases = list.map((e) => `    ${JSON.stringify(e.path)}) words=${JSON.stringify(e.words.join(" "))} ;;`).join("\n");
  const pick = `_dk_bootstrap_words() {
  local cmdpath="" w words best=""
  for w in "$@"; do
    case "$w" in -*) continue ;; esac
    if [ -z "$cmdpath" ]; then cmdpath="$w"; else cmdpath="$cmdpath $w"; fi
    case "$cmdpath" in
${list
  .filter((e) => e.path !== "")
  .map((e) => `      ${JSON.stringify(e.path)}) best="$cmdpath" ;;`)
  .join("\n")}
    esac
  done
  case "$best" in
${cases}
  esac
  printf '%s\\n' "$words"
}`;
  if (shell === "bash")
    return `# dk-bootstrap completion for bash: source <(dk-bootstrap completion bash)
${pick}
_dk_bootstrap() {
  local cur="\${COMP_WORDS[COMP_CWORD]}"
  COMPREPLY=($(compgen -W "$(_dk_bootstrap_words "\${COMP_WORDS[@]:1:COMP_CWORD-1}")" -- "$cur"))
  [ \${#COMPREPLY[@]} -eq 0 ] && COMPREPLY=($(compgen -f -- "$cur"))
}
complete -F _dk_bootstrap dk-bootstrap
`;
  if (shell === "zsh")
    return `#compdef dk-bootstrap
# dk-bootstrap completion for zsh: source <(dk-bootstrap completion zsh)
${pick}
_dk_bootstrap() {
  local -a words_
  words_=(\${=\${"$(_dk_bootstrap_words "\${(@)words[2,CURRENT-1]}")"}})
  compadd -- $words_ || _files
}
compdef _dk_bootstrap dk-bootstrap
`;
  if (shell === "fish")
    return `# dk-bootstrap completion for fish: dk-bootstrap completion fish | source
function __dk_bootstrap_words
  set -l path ""
  set -l best ""
  for w in (commandline -opc)[2..-1]
    string match -q -- '-*' $w; and continue
    if test -z "$path"; set path $w; else; set path "$path $w"; end
    switch $path
${list
  .filter((e) => e.path !== "")
  .map((e) => `      case ${JSON.stringify(e.path)}\n        set best $path`)
  .join("\n")}
    end
  end
  switch "$best"
${list.map((e) => `    case ${JSON.stringify(e.path)}\n      string split ' ' -- ${JSON.stringify(e.words.join(" "))}`).join("\n")}
  end
end
complete -c dk-bootstrap -f -a '(__dk_bootstrap_words)'
`;
  throw new InputError("must be bash, zsh or fish", { field: "SHELL", value: shell });
}
