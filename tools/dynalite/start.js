#!/usr/bin/env node
// Starts dynalite (an in-memory DynamoDB) bound to 127.0.0.1 only and
// prints one ready line that tests wait for:
//   dynalite ready http://127.0.0.1:PORT
// Usage: node start.js [--port N]   (0, the default, picks a free port)
// The server stops on SIGTERM or SIGINT, and when its standard input
// closes, so a test that dies does not leave it running.
'use strict'

const path = require('path')

function main() {
  let port = 0
  const argv = process.argv.slice(2)
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] !== '--port' || i + 1 >= argv.length || !/^[0-9]+$/.test(argv[i + 1])) {
      console.error(`start.js: unknown or incomplete option ${argv[i]}`)
      process.exit(2)
    }
    port = Number(argv[++i])
  }
  const dynalite = require(path.join(__dirname, 'node_modules', 'dynalite'))
  // Tables are ACTIVE at once: tests need no waiting.
  const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 })
  server.on('error', (e) => {
    console.error(`start.js: dynalite: ${e.message}`)
    process.exit(1)
  })
  server.listen(port, '127.0.0.1', () => {
    const a = server.address()
    console.log(`dynalite ready http://${a.address}:${a.port}`)
  })
  const stop = () => server.close(() => process.exit(0))
  process.on('SIGTERM', stop)
  process.on('SIGINT', stop)
  process.stdin.on('end', stop)
  process.stdin.on('error', stop)
  process.stdin.resume()
}

main()
