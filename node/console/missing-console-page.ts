/** The page the command center shows when it has no built console to serve. */

export function missingConsolePage(consoleDir: string, hasLocalCa: boolean): string {
  const escaped = consoleDir.replace(/[&<>"]/g, (character) => `&#${character.charCodeAt(0)};`)
  return `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>ClawMesh console not built</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:40rem;margin:2rem auto;padding:0 1rem}code,pre{background:#eee;padding:.1rem .3rem;border-radius:3px}pre{padding:.6rem}</style>
</head>
<body>
<h1>The console has not been built yet</h1>
<p>This command center serves the operator console from <code>${escaped}</code>, but there is no
<code>index.html</code> there.</p>
<p>On the command center, in the ClawMesh checkout, build it and reload this page:</p>
<pre>npm run build:console</pre>
<p>Or point the node at a built console with <code>clawmesh start --console-dir DIR</code>.</p>
<p>The mesh itself is running: <a href="/console-config.json">/console-config.json</a> shows what a
console would connect to.${hasLocalCa ? ' To trust this server on a tablet, install <a href="/ca.crt">the local CA</a> (see docs/console-serving.md).' : ''}</p>
</body>
</html>
`
}
