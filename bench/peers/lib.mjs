// What the peers' scripts share: their command line.

// The value of --name on the command line, or fallback.
export function option(name, fallback) {
	const i = process.argv.indexOf(`--${name}`);
	return i > 0 && i + 1 < process.argv.length ? process.argv[i + 1] : fallback;
}
