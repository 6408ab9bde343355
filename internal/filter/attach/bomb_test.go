package attach

import (
	"hash/crc32"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// bombs returns the archives the limits exist for, built once.
func bombs(t testing.TB) map[string][]byte {
	t.Helper()
	bombsOnce.Do(func() { bombArchives = buildBombs(t) })
	return bombArchives
}

var (
	bombsOnce    sync.Once
	bombArchives map[string][]byte
)

func buildBombs(t testing.TB) map[string][]byte {
	// A single entry of 16 MiB of zeros: about 16 KiB deflated.
	ratio := makeZip(t, file{name: "zeros.bin", data: make([]byte, 16<<20)})
	// 42.zip-like: the high-ratio entry, nested five deep, two copies a
	// level (42.zip has sixteen).
	nested := ratio
	for i := range 2 {
		nested = makeZip(t, file{name: "lib" + string(rune('a'+i)) + "0.zip", data: nested, stored: true},
			file{name: "lib" + string(rune('a'+i)) + "1.zip", data: nested, stored: true})
	}
	nested42 := ratio
	for i := range 5 {
		nested42 = makeZip(t, file{name: "lib" + string(rune('a'+i)) + "0.zip", data: nested42, stored: true},
			file{name: "lib" + string(rune('a'+i)) + "1.zip", data: nested42, stored: true})
	}
	// Deep nesting of a harmless file.
	deep := makeZip(t, file{name: "a.txt", data: []byte("a")})
	for range 10 {
		deep = makeZip(t, file{name: "d.zip", data: deep})
	}
	// Many entries.
	var many []file
	for i := range 5000 {
		many = append(many, file{name: strings.Repeat("f", 1+i%7) + ".txt", data: []byte("x")})
	}
	// A header declaring 4 GiB behind 1 MiB of deflated zeros.
	raw := deflateZeros(t, 1<<20)
	claims := makeRawZip(t, "big.bin", 4<<30, raw, 0)
	// A header declaring less than the entry holds (a lying bomb): the
	// ratio looks ordinary, the read is cut at the declared size.
	lies := makeRawZip(t, "small.zip", uint64(len(raw)*2), raw, crc32.ChecksumIEEE(make([]byte, 1<<20)))
	// gzip declares no size: 64 MiB of zeros in about 64 KiB, alone and
	// in a tar inside a gzip.
	gz := gzipped(t, "zeros.bin", make([]byte, 64<<20))
	var manyTar []file
	for i := range 5000 {
		manyTar = append(manyTar, file{name: strings.Repeat("t", 1+i%7) + ".txt", data: []byte("x")})
	}
	return map[string][]byte{
		"ratio": ratio, "nested": nested, "nested42": nested42, "deep": deep, "many": makeZip(t, many...),
		"claims": claims, "lies": lies,
		"gzip": gz, "tar.gz": gzipped(t, "", makeTar(t, file{name: "a.gz", data: gz})), "many.tar": makeTar(t, manyTar...),
	}
}

func TestBombs(t *testing.T) {
	want := map[string]string{
		"ratio": NameBomb, "nested": NameBomb, "nested42": NameBomb, "claims": NameBomb, "deep": NameBomb, "many": NameLimit, "lies": NameMalformed,
		"gzip": NameBomb, "tar.gz": NameBomb, "many.tar": NameLimit,
	}
	for name, data := range bombs(t) {
		t.Run(name, func(t *testing.T) {
			start := time.Now()
			fs := Inspect(name+".zip", "application/zip", data, Limits{})
			if !slices.Contains(findingNames(fs), want[name]) {
				t.Fatalf("findings %v, want %s", fs, want[name])
			}
			if d := time.Since(start); d > 5*time.Second {
				t.Errorf("took %v", d)
			}
		})
	}
}

// TestBombMemory bounds what inspecting a bomb allocates: far less than
// what the bombs expand to (16 MiB to 4 GiB).
func TestBombMemory(t *testing.T) {
	for name, data := range bombs(t) {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		const runs = 5
		for range runs {
			Inspect(name+".zip", "", data, Limits{})
		}
		runtime.ReadMemStats(&after)
		perRun := (after.TotalAlloc - before.TotalAlloc) / runs
		t.Logf("%s: %d bytes in, %d bytes allocated per run", name, len(data), perRun)
		if limit := uint64(len(data)) + 2<<20; perRun > limit {
			t.Errorf("%s: %d bytes allocated per run, want at most %d", name, perRun, limit)
		}
	}
}

func TestLimitsAllocs(t *testing.T) {
	data := bombs(t)["ratio"]
	allocs := testing.AllocsPerRun(20, func() { Inspect("ratio.zip", "", data, Limits{}) })
	if allocs > 100 {
		t.Errorf("%v allocations per run", allocs)
	}
}

func TestLimitsConfigurable(t *testing.T) {
	two := makeZip(t, file{name: "a.zip", data: makeZip(t, file{name: "b.txt", data: []byte("b")})})
	if fs := Inspect("x.zip", "", two, Limits{MaxDepth: 1}); !slices.Contains(findingNames(fs), NameBomb) {
		t.Errorf("depth 1: %v", fs)
	}
	if fs := Inspect("x.zip", "", two, Limits{MaxDepth: 2}); len(fs) != 0 {
		t.Errorf("depth 2: %v", fs)
	}
	three := makeZip(t, file{name: "a.txt", data: []byte("a")}, file{name: "b.txt", data: []byte("b")}, file{name: "c.txt", data: []byte("c")})
	if fs := Inspect("x.zip", "", three, Limits{MaxFiles: 2}); !slices.Contains(findingNames(fs), NameLimit) {
		t.Errorf("2 files: %v", fs)
	}
	text := makeZip(t, file{name: "a.txt", data: []byte(strings.Repeat("abcdefgh", 1<<16))})
	if fs := Inspect("x.zip", "", text, Limits{MaxTotal: 1 << 10}); !slices.Contains(findingNames(fs), NameLimit) {
		t.Errorf("1 KiB total: %v", fs)
	}
	if fs := Inspect("x.zip", "", text, Limits{}); len(fs) != 0 {
		t.Errorf("defaults: %v", fs)
	}
	zeros := makeZip(t, file{name: "z.bin", data: make([]byte, 2<<20)})
	if fs := Inspect("x.zip", "", zeros, Limits{MaxRatio: 5000}); len(fs) != 0 {
		t.Errorf("ratio 5000: %v", fs)
	}
}
