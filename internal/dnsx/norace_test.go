//go:build !race

package dnsx

const raceEnabled = false
