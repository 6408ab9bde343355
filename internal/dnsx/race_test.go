//go:build race

package dnsx

// raceEnabled turns off allocation counts, which the race detector changes.
const raceEnabled = true
