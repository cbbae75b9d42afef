// fs.js gives the Go program of go_js_wasm_exec a file system in the page. It
// runs after wasm_exec.js, whose globalThis.fs answers every file operation
// with ENOSYS, and replaces those operations.
//
// The program sees the files of the machine read-only: the page asks the
// runner for a directory's listing (GET fs?p=/abs/dir) when it first looks
// into it, and for a file's bytes (GET fs?p=/abs/file) when it first opens it,
// and keeps the answers. Everything the program writes (os.CreateTemp,
// t.TempDir, the temporary file in which the testing package captures an
// Example's output) stays in the page's memory, on top of the machine's
// files, and is gone with the page. The working directory is the runner's,
// which go test sets to the package directory, so testdata/ (and the fuzz
// seed corpus in testdata/fuzz) reads as it does under Node.js.
//
// The calls are those of Node.js's fs module, which wasm_exec.js expects:
// callback style, errors with a code ("ENOENT") that syscall maps to an Errno.
// File descriptors 0, 1 and 2 keep wasm_exec.js's behaviour: writes to 1
// and 2 go to fs.writeSync, which run.js turns into messages to the runner.
"use strict";

(() => {
	const cfg = globalThis.goWasmExec;
	const fs = globalThis.fs;
	const orig = { ...fs };

	// The open flags of Node.js on Linux. wasm_exec.js sets them all to -1,
	// which syscall reads as "O_DIRECTORY is not supported on Windows".
	const O = {
		WRONLY: 1, RDWR: 2, CREAT: 64, EXCL: 128, TRUNC: 512, APPEND: 1024, DIRECTORY: 65536,
	};
	fs.constants = {
		O_WRONLY: O.WRONLY, O_RDWR: O.RDWR, O_CREAT: O.CREAT, O_TRUNC: O.TRUNC,
		O_APPEND: O.APPEND, O_EXCL: O.EXCL, O_DIRECTORY: O.DIRECTORY,
	};
	const S_IFDIR = 0o040000;
	const S_IFREG = 0o100000;

	const fsError = (code, path) => {
		const err = new Error(path === undefined ? code : `${code}: ${path}`);
		err.code = code;
		return err;
	};

	let nextIno = 1;
	// A node is a dir or a file. A dir's children is a Map from name to
	// node, or null for a dir of the machine not listed yet. A file's data
	// is null for a file of the machine not read yet. host is the path on
	// the machine of a node that came from there.
	const newDir = (mode, host, mtimeMs) => ({
		dir: true, mode: S_IFDIR | (mode & 0o7777), ino: nextIno++,
		mtimeMs: mtimeMs ?? Date.now(), host, children: host === undefined ? new Map() : null,
	});
	const newFile = (mode, host, size, mtimeMs) => ({
		dir: false, mode: S_IFREG | (mode & 0o7777), ino: nextIno++,
		mtimeMs: mtimeMs ?? Date.now(), host, size: size ?? 0,
		data: host === undefined ? new Uint8Array(0) : null,
	});

	const root = newDir(0o755, "/");
	let cwd = cfg.cwd || "/";

	// parts returns the names of the cleaned absolute form of path.
	const parts = (path) => {
		const out = [];
		for (const p of (path.startsWith("/") ? path : `${cwd}/${path}`).split("/")) {
			if (p === "" || p === ".") continue;
			if (p === "..") out.pop(); else out.push(p);
		}
		return out;
	};
	const abs = (path) => "/" + parts(path).join("/");

	// fetchHost asks the runner for the dir listing or the file at path.
	const fetchHost = async (path) => {
		const resp = await fetch(`${cfg.fsURL}?p=${encodeURIComponent(path)}`);
		if (resp.status === 404) return undefined;
		if (!resp.ok) throw fsError(resp.status === 413 ? "EFBIG" : "EACCES", path);
		return resp;
	};

	// children returns the Map of dir's children, listing a dir of the
	// machine on first use.
	const children = async (dir) => {
		if (dir.children === null) {
			dir.listing ??= fetchHost(dir.host).then(async (resp) => {
				const kids = new Map();
				for (const e of resp ? await resp.json() : []) {
					const host = `${dir.host === "/" ? "" : dir.host}/${e.name}`;
					kids.set(e.name, e.dir ?
						newDir(e.mode, host, e.mtimeMs) :
						newFile(e.mode, host, e.size, e.mtimeMs));
				}
				dir.children ??= kids;
			});
			await dir.listing;
		}
		return dir.children;
	};

	// load reads the data of a file of the machine on first use.
	const load = async (file) => {
		if (file.data === null) {
			file.loading ??= fetchHost(file.host).then(async (resp) => {
				if (resp === undefined) throw fsError("ENOENT", file.host);
				const data = new Uint8Array(await resp.arrayBuffer());
				if (file.data === null) {
					file.data = data;
					file.size = data.length;
				}
			});
			await file.loading;
		}
		return file;
	};

	// child returns the node name in dir, or undefined.
	const child = async (dir, name) => (await children(dir)).get(name);

	// lookup returns the node at path, or undefined. It fails with ENOTDIR
	// when a file is used as a directory on the way.
	const lookup = async (path) => {
		let node = root;
		for (const name of parts(path)) {
			if (!node.dir) throw fsError("ENOTDIR", path);
			node = await child(node, name);
			if (node === undefined) return undefined;
		}
		return node;
	};

	// parentOf returns the directory that holds path and the last name.
	const parentOf = async (path) => {
		const names = parts(path);
		const name = names.pop();
		if (name === undefined) throw fsError("EBUSY", path); // the root
		const dir = await lookup("/" + names.join("/"));
		if (dir === undefined) throw fsError("ENOENT", path);
		if (!dir.dir) throw fsError("ENOTDIR", path);
		return { dir, name, kids: await children(dir) };
	};

	const stats = (n) => ({
		dev: 1, ino: n.ino, mode: n.mode, nlink: 1, uid: 0, gid: 0, rdev: 0,
		size: n.dir ? 4096 : n.size, blksize: 4096, blocks: n.dir ? 8 : Math.ceil(n.size / 512),
		atimeMs: n.mtimeMs, mtimeMs: n.mtimeMs, ctimeMs: n.mtimeMs,
		isDirectory: () => n.dir,
	});

	const fds = new Map();
	let nextFd = 3;
	const fileOf = (fd) => {
		const f = fds.get(fd);
		if (f === undefined) throw fsError("EBADF");
		return f;
	};

	// op turns an async function into a Node.js style call: the last argument
	// is the callback. An error without a code becomes EIO, because syscall
	// panics on a code it does not know.
	const op = (fn) => (...args) => {
		const callback = args.pop();
		Promise.resolve().then(() => fn(...args)).then(
			(v) => callback(null, v),
			(err) => {
				if (!(err && typeof err.code === "string")) {
					const e = fsError("EIO");
					e.message = `EIO: ${err && err.message || err}`;
					err = e;
				}
				callback(err);
			},
		);
	};

	const grow = (f, size) => {
		if (size > f.data.length) {
			const data = new Uint8Array(Math.max(size, 2 * f.data.length, 512));
			data.set(f.data.subarray(0, f.size));
			f.data = data;
		}
	};
	const truncateNode = async (n, length) => {
		if (n.dir) throw fsError("EISDIR");
		await load(n);
		grow(n, length);
		n.data.fill(0, Math.min(n.size, length), length);
		n.size = length;
		n.mtimeMs = Date.now();
	};
	const writeNode = (f, buf, position) => {
		const n = f.node;
		let pos = f.flags & O.APPEND ? n.size : position ?? f.pos;
		grow(n, pos + buf.length);
		if (pos > n.size) n.data.fill(0, n.size, pos);
		n.data.set(buf, pos);
		n.size = Math.max(n.size, pos + buf.length);
		n.mtimeMs = Date.now();
		if (position === null || position === undefined) f.pos = pos + buf.length;
		return buf.length;
	};

	Object.assign(fs, {
		open: op(async (path, flags, mode) => {
			let node = await lookup(path);
			if (node !== undefined && flags & O.CREAT && flags & O.EXCL) throw fsError("EEXIST", path);
			if (node === undefined) {
				if (!(flags & O.CREAT)) throw fsError("ENOENT", path);
				const { dir, name, kids } = await parentOf(path);
				node = newFile(mode);
				kids.set(name, node);
				dir.mtimeMs = Date.now();
			}
			const writable = flags & (O.WRONLY | O.RDWR);
			if (flags & O.DIRECTORY && !node.dir) throw fsError("ENOTDIR", path);
			if (node.dir && writable) throw fsError("EISDIR", path);
			if (node.dir) await children(node); // syscall reads it next
			else await load(node);
			if (!node.dir && flags & O.TRUNC && writable) await truncateNode(node, 0);
			const fd = nextFd++;
			fds.set(fd, { node, flags, pos: 0 });
			return fd;
		}),
		close: op(async (fd) => {
			if (fd <= 2) return; // keep the standard streams usable
			fileOf(fd);
			fds.delete(fd);
		}),
		fstat: (fd, callback) => {
			if (fd <= 2) return orig.fstat(fd, callback);
			op(async () => stats(fileOf(fd).node))(callback);
		},
		read: (fd, buffer, offset, length, position, callback) => {
			if (fd <= 2) return orig.read(fd, buffer, offset, length, position, callback);
			op(async () => {
				const f = fileOf(fd);
				if (f.node.dir) throw fsError("EISDIR");
				const pos = position ?? f.pos;
				const n = Math.max(0, Math.min(length, f.node.size - pos));
				buffer.set(f.node.data.subarray(pos, pos + n), offset);
				if (position === null || position === undefined) f.pos = pos + n;
				return n;
			})(callback);
		},
		write: (fd, buf, offset, length, position, callback) => {
			if (fd <= 2) return orig.write.call(fs, fd, buf, offset, length, position, callback);
			op(async () => {
				const f = fileOf(fd);
				if (!(f.flags & (O.WRONLY | O.RDWR))) throw fsError("EBADF");
				return writeNode(f, buf.subarray(offset, offset + length), position);
			})(callback);
		},
		fsync: op(async (fd) => { if (fd > 2) fileOf(fd); }),
		ftruncate: op(async (fd, length) => { await truncateNode(fileOf(fd).node, length); }),
		truncate: op(async (path, length) => {
			const n = await lookup(path);
			if (n === undefined) throw fsError("ENOENT", path);
			await truncateNode(n, length);
		}),
		stat: op(async (path) => {
			const n = await lookup(path);
			if (n === undefined) throw fsError("ENOENT", path);
			return stats(n);
		}),
		// There are no symbolic links in the page: the machine's are
		// followed when read.
		lstat: op(async (path) => {
			const n = await lookup(path);
			if (n === undefined) throw fsError("ENOENT", path);
			return stats(n);
		}),
		readlink: op(async (path) => {
			throw fsError((await lookup(path)) === undefined ? "ENOENT" : "EINVAL", path);
		}),
		readdir: op(async (path) => {
			const n = await lookup(path);
			if (n === undefined) throw fsError("ENOENT", path);
			if (!n.dir) throw fsError("ENOTDIR", path);
			return [...(await children(n)).keys()];
		}),
		mkdir: op(async (path, perm) => {
			const { dir, name, kids } = await parentOf(path);
			if ((await child(dir, name)) !== undefined) throw fsError("EEXIST", path);
			kids.set(name, newDir(perm));
			dir.mtimeMs = Date.now();
		}),
		rmdir: op(async (path) => {
			const { dir, name, kids } = await parentOf(path);
			const n = await child(dir, name);
			if (n === undefined) throw fsError("ENOENT", path);
			if (!n.dir) throw fsError("ENOTDIR", path);
			if ((await children(n)).size > 0) throw fsError("ENOTEMPTY", path);
			kids.delete(name);
			dir.mtimeMs = Date.now();
		}),
		unlink: op(async (path) => {
			const { dir, name, kids } = await parentOf(path);
			const n = await child(dir, name);
			if (n === undefined) throw fsError("ENOENT", path);
			if (n.dir) throw fsError("EISDIR", path);
			kids.delete(name);
			dir.mtimeMs = Date.now();
		}),
		rename: op(async (from, to) => {
			const src = await parentOf(from);
			const n = await child(src.dir, src.name);
			if (n === undefined) throw fsError("ENOENT", from);
			const dst = await parentOf(to);
			const old = await child(dst.dir, dst.name);
			if (old === n) return;
			if (old !== undefined) {
				if (n.dir && !old.dir) throw fsError("ENOTDIR", to);
				if (!n.dir && old.dir) throw fsError("EISDIR", to);
				if (old.dir && (await children(old)).size > 0) throw fsError("ENOTEMPTY", to);
			}
			if (n.dir && (abs(to) + "/").startsWith(abs(from) + "/")) throw fsError("EINVAL", to);
			src.kids.delete(src.name);
			dst.kids.set(dst.name, n);
			src.dir.mtimeMs = dst.dir.mtimeMs = Date.now();
		}),
		chmod: op(async (path, mode) => {
			const n = await lookup(path);
			if (n === undefined) throw fsError("ENOENT", path);
			n.mode = (n.mode & ~0o7777) | (mode & 0o7777);
		}),
		fchmod: op(async (fd, mode) => {
			const n = fileOf(fd).node;
			n.mode = (n.mode & ~0o7777) | (mode & 0o7777);
		}),
		utimes: op(async (path, atime, mtime) => {
			const n = await lookup(path);
			if (n === undefined) throw fsError("ENOENT", path);
			n.mtimeMs = mtime * 1000;
		}),
	});

	// The working directory, for relative paths and os.Getwd/os.Chdir.
	// syscall calls chdir synchronously, so it can only check what the page
	// has read already; a name it has not seen yet is taken on trust.
	globalThis.process.cwd = () => cwd;
	globalThis.process.chdir = (path) => {
		let node = root;
		for (const name of parts(path)) {
			if (node.dir && node.children === null) break;
			if (!node.dir) throw fsError("ENOTDIR", path);
			if (!node.children.has(name)) throw fsError("ENOENT", path);
			node = node.children.get(name);
		}
		if (!node.dir) throw fsError("ENOTDIR", path);
		cwd = abs(path);
	};
	globalThis.path.resolve = (...segments) => abs(segments.join("/"));
})();
