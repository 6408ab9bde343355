//go:build !race

package classify

// raceEnabled is true when the tests run under the race detector.
const raceEnabled = false
