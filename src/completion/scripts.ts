// Completion scripts for running the plugin as `kubectl-dualstack` directly. Each asks the plugin itself
// (`kubectl-dualstack __complete WORDS...`, cobra's protocol, as kubectl does through
// kubectl_complete-dualstack) and applies the directive: 2 no space after the word, 4 no file fallback,
// 16 directories only.
export const SHELLS = ['bash', 'zsh', 'fish'] as const
export type Shell = (typeof SHELLS)[number]

const BASH = `# bash completion for kubectl-dualstack (run directly; \`kubectl dualstack\` completes through kubectl)
_kubectl_dualstack() {
    local line=\${COMP_LINE:0:COMP_POINT}
    local -a words
    read -ra words <<< "$line"
    [[ $line == *[[:space:]] ]] && words+=("")
    local cur=\${words[-1]}
    local out
    out=$("\${words[0]}" __complete "\${words[@]:1}" 2>/dev/null) || return
    local directive=\${out##*:}
    out=\${out%:*}
    # bash replaces only the part of the word after its last break character (= or :).
    local head=\${cur%"\${cur##*[=:]}"}
    local candidate
    COMPREPLY=()
    while IFS= read -r candidate; do
        [[ -z $candidate ]] && continue
        candidate=\${candidate%%$'\\t'*}
        COMPREPLY+=("\${candidate#"$head"}")
    done <<< "$out"
    if (( directive & 2 )); then compopt -o nospace 2>/dev/null; fi
    if (( \${#COMPREPLY[@]} == 0 )); then
        if (( directive & 16 )); then compopt -o dirnames 2>/dev/null
        elif (( (directive & 4) == 0 )); then compopt -o default 2>/dev/null
        fi
    fi
}
complete -F _kubectl_dualstack kubectl-dualstack
`

const ZSH = `#compdef kubectl-dualstack
# zsh completion for kubectl-dualstack (run directly; \`kubectl dualstack\` completes through kubectl)
_kubectl_dualstack() {
    local -a lines described
    local out directive line value description
    out=$("\${words[1]}" __complete "\${(@)words[2,CURRENT]}" 2>/dev/null) || return 1
    lines=("\${(@f)out}")
    directive=\${lines[-1]#:}
    lines=("\${(@)lines[1,-2]}")
    for line in "\${lines[@]}"; do
        [[ -z $line ]] && continue
        value=\${line%%$'\\t'*}
        description=\${line#*$'\\t'}
        [[ $description == "$line" ]] && description=
        described+=("\${value//:/\\\\:}\${description:+:$description}")
    done
    if (( \${#described} == 0 )); then
        if (( directive & 16 )); then _files -/
        elif (( (directive & 4) == 0 )); then _files
        fi
        return
    fi
    if (( directive & 2 )); then _describe 'kubectl-dualstack' described -S ''
    else _describe 'kubectl-dualstack' described
    fi
}
if [[ $zsh_eval_context[-1] == loadautofunc ]]; then
    _kubectl_dualstack "$@"
else
    compdef _kubectl_dualstack kubectl-dualstack
fi
`

const FISH = `# fish completion for kubectl-dualstack (run directly; \`kubectl dualstack\` completes through kubectl)
function __kubectl_dualstack_complete
    set -l words (commandline -opc) (commandline -ct)
    set -l out ($words[1] __complete $words[2..-1] 2>/dev/null)
    or return
    set -l directive (string replace -r '^:' '' -- $out[-1])
    set -e out[-1]
    if test (count $out) -eq 0
        if test (math "bitand($directive, 16)") -ne 0
            __fish_complete_directories (commandline -ct)
        else if test (math "bitand($directive, 4)") -eq 0
            __fish_complete_path (commandline -ct)
        end
        return
    end
    printf '%s\\n' $out
end
complete -c kubectl-dualstack -f -a '(__kubectl_dualstack_complete)'
`

export function completionScript(shell: Shell): string {
  return {bash: BASH, zsh: ZSH, fish: FISH}[shell]
}
