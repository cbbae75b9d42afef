// run.js starts the Go program for go_js_wasm_exec. It runs after
// wasm_exec.js (Go's own glue), config.js, which sets
// globalThis.goWasmExec = {argv, env, wasm, marker, cwd, fsURL}, and fs.js.
//
// It talks to the runner through console.debug calls whose first argument is
// the marker, so that the runner sees them in the same ordered stream as every
// other console message and exception of the page:
//
//   marker, "write", fd, base64   bytes the program wrote to fd 1 or 2
//   marker, "exit", code          the program exited with code
//   marker, "fail", text          the program could not start or crashed
"use strict";

(() => {
	const cfg = globalThis.goWasmExec;
	const debug = console.debug.bind(console);
	const send = (...args) => debug(cfg.marker, ...args);

	const base64 = (bytes) => {
		if (typeof bytes.toBase64 === "function") {
			return bytes.toBase64();
		}
		let s = "";
		for (let i = 0; i < bytes.length; i += 0x2000) {
			s += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x2000));
		}
		return btoa(s);
	};

	// wasm_exec.js writes stdout and stderr to console.log, joined, one call
	// per line, and keeps a last line with no newline until the next write.
	// Send the bytes as they are, per file descriptor, and lose nothing.
	//
	// One message per write costs the runner about 0.3 ms (go test -v writes
	// a few per test), so writes are batched: sent when 64 KiB are waiting,
	// when the program yields to the event loop (a microtask), before any
	// other console message (so the order holds), on an uncaught error, and
	// at exit.
	const chunk = 1 << 16;
	let pending = []; // runs of writes to one fd: {fd, parts: [Uint8Array]}
	let pendingSize = 0;
	let scheduled = false;
	const flush = () => {
		const runs = pending;
		pending = [];
		pendingSize = 0;
		for (const { fd, parts } of runs) {
			const size = parts.reduce((n, p) => n + p.length, 0);
			const all = new Uint8Array(size);
			let off = 0;
			for (const p of parts) {
				all.set(p, off);
				off += p.length;
			}
			for (let i = 0; i < size; i += chunk) {
				send("write", fd, base64(all.subarray(i, i + chunk)));
			}
		}
	};
	globalThis.fs.writeSync = (fd, buf) => {
		const copy = buf.slice(); // buf is a view of the program's memory
		const last = pending[pending.length - 1];
		if (last && last.fd === fd) {
			last.parts.push(copy);
		} else {
			pending.push({ fd, parts: [copy] });
		}
		pendingSize += copy.length;
		if (pendingSize >= chunk) {
			flush();
		} else if (!scheduled) {
			scheduled = true;
			queueMicrotask(() => {
				scheduled = false;
				flush();
			});
		}
		return buf.length;
	};
	for (const name of ["log", "info", "warn", "error", "debug", "trace", "dir", "dirxml", "table", "assert", "count", "timeLog"]) {
		const orig = console[name];
		if (typeof orig === "function") {
			console[name] = function (...args) {
				flush();
				return orig.apply(this, args);
			};
		}
	}
	addEventListener("error", flush);
	addEventListener("unhandledrejection", flush);

	const go = new Go();
	go.argv = cfg.argv;
	go.env = cfg.env;
	// Like Go's wasm_exec_node.js, report the exit code and nothing else:
	// the default exit() only logs "exit code: N", which the runner reports
	// as its own exit status.
	go.exit = (code) => {
		flush();
		globalThis.__exitCode = code;
		send("exit", code);
	};
	globalThis.__go = go;

	const fail = (err) => {
		flush();
		send("fail", String((err && err.stack) || err));
	};
	WebAssembly.instantiateStreaming(fetch(cfg.wasm), go.importObject)
		.then((result) => go.run(result.instance))
		.catch(fail);
})();
