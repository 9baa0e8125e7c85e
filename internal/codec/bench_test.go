package codec

import (
	"testing"

	commonpb "go.temporal.io/api/common/v1"
)

// BenchmarkCodec compares one Encode plus Decode with and without zstd before encryption
// ("plain": never, "zstd": always tried, "default": from DefaultCompressFrom bytes), on a user
// snapshot with 40 roles, one with 3, and a small credential payload; it reports the payload's
// size and the encrypted data's size.
//
// Figures (go test -bench Codec -benchmem -count 5, mean ns/op; 2 cores shared, so ±30%):
//
//	                    ns/op  enc-bytes  in-bytes  B/op   allocs
//	snapshot/plain      22521  3676       3648      17632  26
//	snapshot/zstd       79265  1523       3648      20810  30
//	snapshot/default    63106  1523       3648      20806  30
//	snapshot-3/plain     8082   607        579       3744  26
//	snapshot-3/zstd     25178   451        579       4723  30
//	snapshot-3/default  24822   451        579       4717  30
//	credential/plain     6931   380        352       2688  26
//	credential/zstd      8322   380        352       3689  28
//	credential/default   6692   380        352       2688  26
//
// Decision: compress from 512 bytes. The snapshot shrinks by 59% (26% with 3 roles), and the
// history that holds it (snapshot result, export input) outlives the run; the cost, some 40µs
// per payload, is nothing beside one Genesys call. A credential is random bytes that zstd
// cannot shrink (it would grow by 15 bytes and is then kept plain), so small payloads are not
// tried.
func BenchmarkCodec(b *testing.B) {
	payloads := map[string]*commonpb.Payload{
		"snapshot":   snapshotPayload(b, 40),
		"snapshot-3": snapshotPayload(b, 3),
		"credential": credentialPayload(b),
	}
	for _, name := range []string{"snapshot", "snapshot-3", "credential"} {
		for _, mode := range []struct {
			label string
			opts  Options
		}{{"plain", Options{CompressFrom: -1}}, {"zstd", Options{CompressFrom: 1}}, {"default", Options{}}} {
			b.Run(name+"/"+mode.label, func(b *testing.B) {
				c := mustCodec(b, "k1:"+testKey(1), mode.opts)
				in := []*commonpb.Payload{payloads[name]}
				var size int
				for b.Loop() {
					enc, err := c.Encode(in)
					if err != nil {
						b.Fatal(err)
					}
					if _, err := c.Decode(enc); err != nil {
						b.Fatal(err)
					}
					size = len(enc[0].Data)
				}
				b.ReportMetric(float64(in[0].Size()), "in-bytes")
				b.ReportMetric(float64(size), "enc-bytes")
			})
		}
	}
}
