# SPDX-License-Identifier: MIT
#
# scripts/deps-scan.awk -- the reading half of scripts/deps-check: which
# programs one shell script (or Makefile, with -v make=1) runs, and which
# Debian packages it passes to an install call.  Written for mawk (what a
# fresh Debian root has as awk): no gawk extensions.
#
#   awk -v file=NAME [-v make=1] -f scripts/deps-scan.awk FILE
#
# prints tab-separated records:
#   cmd      FILE LINE NAME      NAME run as a command (a word at command position)
#   probe    FILE LINE NAME      `command -v NAME`: looked for, not run
#   path     FILE LINE PATH      a command given by path (./x, /bin/busybox)
#   func     FILE NAME START END a shell function the file defines
#   runs     FILE LINE WORD HOW  WORD (a file) given to HOW: source, ., bash or sh
#   makedir  FILE LINE WORD      make -C WORD
#   install  FILE LINE PKG FUNC  PKG passed to `snp_install` or `apt-get install`
#                                (FUNC: the function the call is in, or "-")
#   installdyn FILE LINE WORD FUNC  an install argument known only at run time
#
# Command position: the start of a line, after ; & && || | ( $( ` { ! and the
# keywords if then else elif do while until time, after a case pattern's ),
# and after the prefix programs that run another (timeout, xargs, exec,
# command, env, nice, sudo; find's -exec).  Assignments before a command are
# skipped.  Not commands: words inside quotes (except $(...) and `...`
# in them), here-document bodies, comments, [[ ]] operands, for and case
# word lists, case patterns.  A trap's or sh -c's command string is read as
# code.  Shell keywords and bash builtins are not reported.
#
# A Makefile (-v make=1): each recipe line (a line starting with a tab) is
# read as shell after make's own expansion, approximated: $(Q) is nothing,
# $(quiet) is printf, $(CC) cc, $(AR) ar, $(MAKE) make, $$ is $, $(shell X)
# is $(X) (on any line), any other $(...) or $@-like variable a placeholder
# that is no program name.

BEGIN {
	split("if then else elif fi do done case esac while until for in function select time { } ! [[ ]]", a, " ")
	for (i in a) KEYWORD[a[i]] = 1
	split(". : [ alias bg bind break builtin caller cd command compgen complete compopt continue " \
	      "declare dirs disown echo enable eval exec exit export false fc fg getopts hash help " \
	      "history jobs kill let local logout mapfile popd printf pushd pwd read readarray " \
	      "readonly return set shift shopt source suspend test times trap true type typeset " \
	      "ulimit umask unalias unset wait", a, " ")
	for (i in a) BUILTIN[a[i]] = 1
	# Programs whose arguments name another program to run, and their
	# options that take a value (the value is not the program).
	PREFIX["timeout"] = " -s --signal -k --kill-after "
	PREFIX["xargs"] = " -a -d -E -I -L -n -P -s --arg-file --delimiter --max-args --max-procs "
	PREFIX["exec"] = " -a "
	PREFIX["command"] = " "
	PREFIX["env"] = " -u -C -S --unset --chdir "
	PREFIX["nice"] = " -n --adjustment "
	PREFIX["sudo"] = " -u -g -C -D -h -p -U "
	NL = "\n"
}

{ lines[NR] = $0 }

END {
	nlines = NR
	if (make) make_to_shell()
	find_functions()
	S = ""
	for (i = 1; i <= nlines; i++) S = S lines[i] NL
	N = length(S); P = 1; L = 1
	nhd = 0
	parse_code("")
	resolve_installs()
}

function out(kind, a1, a2, a3, a4) {
	printf "%s\t%s\t%s", kind, file, a1
	if (a2 != "") printf "\t%s", a2
	if (a3 != "") printf "\t%s", a3
	if (a4 != "") printf "\t%s", a4
	printf "\n"
}

# ---- functions and their line ranges --------------------------------------
function find_functions(    i, s, name, j) {
	nfunc = 0
	for (i = 1; i <= nlines; i++) {
		s = lines[i]
		if (s !~ /^[ \t]*(function[ \t]+)?[A-Za-z_][A-Za-z0-9_-]*[ \t]*\(\)/) continue
		sub(/^[ \t]*(function[ \t]+)?/, "", s)
		name = s; sub(/[ \t]*\(\).*/, "", name)
		nfunc++; fname[nfunc] = name; fstart[nfunc] = i; fend[nfunc] = i
		# A one-line body ends on its own line; otherwise at the next "}"
		# at the definition's indentation.
		if (s !~ /[}][ \t]*(#.*)?$/ || s ~ /[{][ \t]*$/) {
			ind = lines[i]; sub(/[^ \t].*/, "", ind)
			for (j = i + 1; j <= nlines; j++)
				if (lines[j] == ind "}" || index(lines[j], ind "}") == 1 && substr(lines[j], length(ind) + 2) ~ /^[ \t]*(#.*)?$/) break
			fend[nfunc] = j
		}
		out("func", name, fstart[nfunc], fend[nfunc])
	}
}

function func_at(line,    k, best) {
	best = "-"
	for (k = 1; k <= nfunc; k++)
		if (fstart[k] <= line && line <= fend[k] && fend[k] > fstart[k]) best = fname[k]
	return best
}

# ---- Makefile: recipes and $(shell ...) as shell text -----------------------
function make_to_shell(    i, s, t, r, k, rest) {
	for (i = 1; i <= nlines; i++) {
		s = lines[i]
		if (substr(s, 1, 1) == "\t") {
			t = make_expand(substr(s, 2))
			sub(/^[ \t]*[-@+]*/, "", t)
			lines[i] = t
		} else {
			# Only the $(shell ...) parts of other lines run anything.
			r = ""
			while ((k = index(s, "$(shell ")) > 0) {
				rest = substr(s, k)
				t = make_expand(substr(rest, 1, make_paren_end(rest)))
				r = r "; " t
				s = substr(rest, make_paren_end(rest) + 1)
			}
			lines[i] = substr(r, 3)
		}
	}
}

# The length of the $(...) or ${...} reference at the start of s.
function make_paren_end(s,    j, d, c) {
	d = 0
	for (j = 2; j <= length(s); j++) {
		c = substr(s, j, 1)
		if (c == "(") d++
		else if (c == ")") { d--; if (d == 0) return j }
	}
	return length(s)
}

function make_expand(s,    r, j, c, e, name) {
	r = ""
	j = 1
	while (j <= length(s)) {
		c = substr(s, j, 1)
		if (c != "$") { r = r c; j++; continue }
		c = substr(s, j + 1, 1)
		if (c == "$") { r = r "$"; j += 2; continue }
		if (c != "(" && c != "{") { r = r "%M%"; j += 2; continue }
		e = make_paren_end(substr(s, j))
		name = substr(s, j + 2, e - 3)
		if (name == "Q") r = r
		else if (name == "quiet") r = r "printf"
		else if (name == "CC") r = r "cc"
		else if (name == "AR") r = r "ar"
		else if (name == "MAKE") r = r "make"
		else if (substr(name, 1, 6) == "shell ") r = r "$(" make_expand(substr(name, 7)) ")"
		else r = r "%M%"
		j += e
	}
	return r
}

# ---- the shell reader ----------------------------------------------------------
function ch(k) { return substr(S, P + k, 1) }

# A separator: what follows is at command position.
function sep() {
	cmdpos = 1; redir = 0; cmd = ""; aptinstall = 0; skipnext = 0
	if (st != "dbl") st = ""
}

# Code until term: "" (end of text), ")" (end of $( or a subshell
# group opened before), "`".  State is saved and restored around
# nested code, so $(...) inside a word does not disturb the outer command.
function parse_code(term,    depth, c, c2, sv_cmdpos, sv_st, sv_cmd, sv_redir, sv_casepat, sv_apt, sv_pname, sv_pskip, sv_skip, sv_forvar, sv_nargs, sv_prev) {
	sv_cmdpos = cmdpos; sv_st = st; sv_cmd = cmd; sv_redir = redir; sv_casepat = casepat
	sv_apt = aptinstall; sv_pname = pname; sv_pskip = pskip; sv_skip = skipnext; sv_forvar = forvar
	sv_nargs = nargs; sv_prev = prevarg
	cmdpos = 1; st = ""; cmd = ""; redir = 0; casepat = 0; aptinstall = 0; skipnext = 0
	depth = 0
	while (P <= N) {
		c = ch(0); c2 = substr(S, P, 2)
		if (term == ")" && c == ")" && depth == 0 && !casepat) { P++; break }
		if (term == "`" && c == "`") { P++; break }
		if (c == " " || c == "\t") { P++; continue }
		if (c2 == "\\\n") { P += 2; L++; continue }
		if (c == "\n") { P++; L++; sep(); if (nhd) skip_heredocs(); continue }
		if (c == "#") { while (P <= N && ch(0) != "\n") P++; continue }
		if (c2 == ";;" || c2 == ";&") { P += 2; if (ch(0) == "&") P++; sep(); casepat = 1; continue }
		if (c == ";") { P++; sep(); continue }
		if (c2 == "&&" || c2 == "||") { P += 2; sep(); continue }
		if (c2 == "&>") { P += 2; if (ch(0) == ">") P++; redir = 1; continue }
		if (c == "|") { P++; if (ch(0) == "&") P++; if (!casepat) sep(); continue }
		if (c == "&") { P++; sep(); continue }
		if (c2 == "((") { P += 2; parse_arith(2); cmdpos = 0; continue }
		if (c2 == "()") { P += 2; sep(); continue }	# NAME() { ...: a function's body follows
		if (c == "(") { P++; depth++; sep(); continue }
		if (c == ")") {
			P++
			if (casepat) { casepat = 0; sep() }
			else { depth--; cmdpos = 0 }
			continue
		}
		if (c2 == "<(" || c2 == ">(") { P += 2; parse_code(")"); redir = 0; continue }
		if (c ~ /[0-9]/ && redir_at()) { while (ch(0) ~ /[0-9]/) P++; c = ch(0); c2 = substr(S, P, 2) }
		if (c == "<" || c == ">") { parse_redir(); continue }
		parse_word()
		word_done()
	}
	cmdpos = sv_cmdpos; st = sv_st; cmd = sv_cmd; redir = sv_redir; casepat = sv_casepat
	aptinstall = sv_apt; pname = sv_pname; pskip = sv_pskip; skipnext = sv_skip; forvar = sv_forvar
	nargs = sv_nargs; prevarg = sv_prev
}

# Digits that are a file descriptor of a redirection (2>, 1>&2).
function redir_at(    k) {
	k = 0
	while (ch(k) ~ /[0-9]/) k++
	return ch(k) == "<" || ch(k) == ">"
}

function parse_redir(    c2, quoted, d, strip) {
	c2 = substr(S, P, 3)
	if (c2 == "<<<") { P += 3; redir = 1; return }
	if (substr(c2, 1, 2) == "<<") {
		P += 2; strip = 0
		if (ch(0) == "-") { strip = 1; P++ }
		while (ch(0) == " " || ch(0) == "\t") P++
		parse_word()
		d = W_lit
		if (d == "") { d = W_raw; gsub(/["'\\]/, "", d) }
		nhd++; hd[nhd] = d; hdstrip[nhd] = strip
		return
	}
	P++
	if (ch(0) == ">" || ch(0) == "&" || ch(0) == "|") P++
	if (substr(S, P - 1, 1) == "&" && ch(0) ~ /[-0-9]/) { while (ch(0) ~ /[-0-9]/) P++; return }
	redir = 1
}

# Here-document bodies are data: skipped up to their delimiter lines.
function skip_heredocs(    k, e, line) {
	for (k = 1; k <= nhd; k++) {
		while (P <= N) {
			e = index(substr(S, P), NL)
			if (e == 0) e = N - P + 2
			line = substr(S, P, e - 1)
			P += e; L++
			if (hdstrip[k]) sub(/^\t+/, "", line)
			if (line == hd[k]) break
		}
	}
	nhd = 0
}

# $(( ... )) or (( ... )): not commands, but $( ) inside are.
function parse_arith(d,    c) {
	while (P <= N && d > 0) {
		c = ch(0)
		if (c == "$" && ch(1) == "(" && ch(2) != "(") { P += 2; parse_code(")"); continue }
		if (c == "\n") L++
		if (c == "(") d++
		else if (c == ")") d--
		P++
	}
}

# ${ ... }: skipped, braces counted.
function parse_param(    d, c) {
	P += 2; d = 1
	while (P <= N && d > 0) {
		c = ch(0)
		if (c == "\\") { P += 2; continue }
		if (c == "\n") L++
		if (c == "$" && ch(1) == "(" && ch(2) != "(") { P += 2; parse_code(")"); continue }
		if (c == "$" && ch(1) == "{") { P += 2; d++; continue }
		if (c == "}") d--
		P++
	}
}

# A $ expansion in a word or in double quotes.
function parse_dollar(    c) {
	c = ch(1)
	if (c == "(") {
		if (ch(2) == "(") { P += 3; parse_arith(2) } else { P += 2; parse_code(")") }
	} else if (c == "{") parse_param()
	else if (c == "'") {
		P += 2
		while (P <= N && ch(0) != "'") { if (ch(0) == "\\") P++; else if (ch(0) == "\n") L++; P++ }
		P++
	} else if (c ~ /[A-Za-z_]/) { P++; while (ch(0) ~ /[A-Za-z0-9_]/) P++ }
	else P += 2
}

# One word: sets W_raw (its text), W_lit (its value when it has no
# expansion, else ""), W_line.
function parse_word(    c, raw, lit, dyn, start, name, wl) {
	raw = ""; lit = ""; dyn = 0
	wl = L
	while (P <= N) {
		c = ch(0)
		if (c ~ /[ \t\n;&|<>()]/) {
			# NAME=( ... ) / NAME+=( ... ): an array's elements.
			if (c == "(" && raw ~ /^[A-Za-z_][A-Za-z0-9_]*\+?=$/ ) {
				name = raw; sub(/\+?=$/, "", name)
				P++
				parse_array(name)
				raw = raw "(...)"; dyn = 1
				continue
			}
			break
		}
		if (c == "\\") {
			if (ch(1) == "\n") { P += 2; L++; continue }
			raw = raw substr(S, P, 2); lit = lit ch(1); P += 2; continue
		}
		if (c == "'") {
			start = P; P++
			while (P <= N && ch(0) != "'") { if (ch(0) == "\n") L++; P++ }
			lit = lit substr(S, start + 1, P - start - 1); P++
			raw = raw substr(S, start, P - start)
			continue
		}
		if (c == "\"") {
			start = P; P++
			while (P <= N && ch(0) != "\"") {
				c = ch(0)
				if (c == "\\") { lit = lit ch(1); P += 2; continue }
				if (c == "$" && ch(1) ~ /[({A-Za-z_0-9@*#?!$'-]/) { parse_dollar(); dyn = 1; continue }
				if (c == "`") { P++; parse_code("`"); dyn = 1; continue }
				if (c == "\n") L++
				lit = lit c; P++
			}
			P++
			raw = raw substr(S, start, P - start)
			continue
		}
		if (c == "$" && ch(1) ~ /[({A-Za-z_0-9@*#?!$'-]/) {
			start = P; parse_dollar(); dyn = 1
			raw = raw substr(S, start, P - start)
			continue
		}
		if (c == "`") { start = P; P++; parse_code("`"); dyn = 1; raw = raw substr(S, start, P - start); continue }
		raw = raw c; lit = lit c; P++
	}
	W_raw = raw
	W_lit = dyn ? "" : lit
	W_line = wl
}

function parse_array(name,    c) {
	while (P <= N) {
		c = ch(0)
		if (c == " " || c == "\t") { P++; continue }
		if (c == "\n") { P++; L++; continue }
		if (c == "#") { while (P <= N && ch(0) != "\n") P++; continue }
		if (c == ")") { P++; return }
		parse_word()
		if (W_lit != "") { narr[name]++; arr[name, narr[name]] = W_lit }
		else if (W_raw ~ /^"?\$\{?[A-Za-z_][A-Za-z0-9_]*(#\*:)?\}?"?$/) {
			# ("${tool#*:}") / ("$p"): the values of a for loop's variable.
			narrref[name]++
			arrref[name, narrref[name]] = W_raw
		}
		if (W_raw == "") P++
	}
}

# What the word just read means here.
function word_done(    w, opts) {
	w = W_lit
	if (redir) { redir = 0; return }
	if (casepat) { if (w == "esac") { casepat = 0; cmdpos = 0 } return }
	if (st == "dbl") { if (w == "]]") st = ""; return }
	if (st == "for_var") { forvar = W_raw; st = "for_in"; return }
	if (st == "for_in") { if (w == "in") st = "for_list"; else if (w == "do") { st = ""; cmdpos = 1 } return }
	if (st == "for_list") { if (w != "") { nfor[forvar]++; forval[forvar, nfor[forvar]] = w } return }
	if (st == "case_word") { if (w == "in") { casepat = 1; st = "" } return }
	if (st == "probe") { if (w != "") out("probe", W_line, w); return }
	if (st == "prefix") {
		opts = PREFIX[pname]
		if (skipnext) { skipnext = 0; return }
		if (w ~ /^-/) {
			if (pname == "command" && (w == "-v" || w == "-V")) { st = "probe"; return }
			if (index(opts, " " w " ") > 0) skipnext = 1
			return
		}
		if (pname == "env" && W_raw ~ /^[A-Za-z_][A-Za-z0-9_]*=/) return
		if (pskip > 0) { pskip--; return }
		st = ""; cmdpos = 1
	}
	if (st == "findexec") { st = ""; cmdpos = 1 }
	if (cmdpos) { command_word(); return }
	argument_word()
}

function command_word(    w) {
	w = W_lit
	if (w in KEYWORD) {
		if (w == "fi" || w == "done" || w == "esac" || w == "}" || w == "]]") cmdpos = 0
		else if (w == "for" || w == "select") { st = "for_var"; cmdpos = 0 }
		else if (w == "case") { st = "case_word"; cmdpos = 0 }
		else if (w == "[[") { st = "dbl"; cmdpos = 0 }
		else if (w == "function") { st = "for_in"; cmdpos = 0 }   # the name, then ()
		return
	}
	if (W_raw ~ /^[A-Za-z_][A-Za-z0-9_]*(\[[^]]*\])?\+?=/) return   # an assignment
	cmdpos = 0; cmd = w; nargs = 0; prevarg = ""
	if (w == "") return
	if (w ~ /\//) { out("path", W_line, w); return }
	if (w in PREFIX) { st = "prefix"; pname = w; pskip = (w == "timeout"); skipnext = 0 }
	if (w in BUILTIN) return
	if (w !~ /^[A-Za-z0-9_][A-Za-z0-9_.+-]*$/) return
	out("cmd", W_line, w)
}

function argument_word(    w) {
	w = W_lit
	nargs++
	# Another file run from here: a script given to bash, sh, source or ., or
	# the directory make -C is given (no -C: the top Makefile).
	if ((cmd == "source" || cmd == "." || cmd == "bash" || cmd == "sh") && nargs == 1 && w !~ /^-/) {
		out("runs", W_line, W_raw, cmd)
		return
	}
	if (cmd == "make" && prevarg == "-C") out("makedir", W_line, W_raw)
	if (w != "" && (cmd == "trap" && nargs == 1 || (cmd == "sh" || cmd == "bash") && prevarg == "-c"))
		subparse(w)
	prevarg = w
	if (cmd == "find" && (w == "-exec" || w == "-execdir" || w == "-ok")) { st = "findexec"; return }
	if (cmd == "snp_install") { install_arg(); return }
	if (cmd == "apt-get") {
		if (!aptinstall) { if (w == "install") aptinstall = 1; return }
		if (skipnext) { skipnext = 0; return }
		if (w ~ /^-/) { if (w == "-t" || w == "-o" || w == "-c") skipnext = 1; return }
		install_arg()
	}
}

# A command string (trap's, sh -c's) read as code at this line.
function subparse(text,    sv_S, sv_N, sv_P, sv_L) {
	sv_S = S; sv_N = N; sv_P = P; sv_L = L
	S = text; N = length(text); P = 1; L = W_line
	parse_code("")
	S = sv_S; N = sv_N; P = sv_P; L = sv_L
}

function install_arg(    name) {
	if (W_lit != "") { out("install", W_line, W_lit, func_at(W_line)); return }
	if (W_raw ~ /^"?\$\{[A-Za-z_][A-Za-z0-9_]*\[@\]\}"?$/) {
		name = W_raw; gsub(/^"?\$\{|\[@\]\}"?$/, "", name)
		ninst++; inst_arr[ninst] = name; inst_line[ninst] = W_line
		return
	}
	out("installdyn", W_line, W_raw, func_at(W_line))
}

# Install calls given an array: its literal elements, and the values of
# the for-loop variables its other elements name (.ci/run's tool:package).
function resolve_installs(    k, name, j, ref, var, colon, m, v, n) {
	for (k = 1; k <= ninst; k++) {
		name = inst_arr[k]
		n = 0
		for (j = 1; j <= narr[name]; j++) { out("install", inst_line[k], arr[name, j], func_at(inst_line[k])); n++ }
		for (j = 1; j <= narrref[name]; j++) {
			ref = arrref[name, j]
			colon = index(ref, "#*:") > 0
			var = ref; gsub(/^"?\$\{?|(#\*:)?\}?"?$/, "", var)
			for (m = 1; m <= nfor[var]; m++) {
				v = forval[var, m]
				if (colon) sub(/^[^:]*:/, "", v)
				out("install", inst_line[k], v, func_at(inst_line[k])); n++
			}
		}
		if (n == 0) out("installdyn", inst_line[k], "${" name "[@]}", func_at(inst_line[k]))
	}
}
