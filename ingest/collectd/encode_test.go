package collectd

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/binary"
	"math"
)

// Test-only encoder of collectd's protocol, as its network plugin writes it.

func strPart(typ uint16, s string) []byte {
	b := binary.BigEndian.AppendUint16(nil, typ)
	b = binary.BigEndian.AppendUint16(b, uint16(4+len(s)+1))
	return append(append(b, s...), 0)
}

func numPart(typ uint16, v uint64) []byte {
	b := binary.BigEndian.AppendUint16(nil, typ)
	b = binary.BigEndian.AppendUint16(b, 12)
	return binary.BigEndian.AppendUint64(b, v)
}

// valuesPart encodes values; gauges are float64, the rest uint64 bits.
func valuesPart(types []uint8, vals []float64) []byte {
	b := binary.BigEndian.AppendUint16(nil, partValues)
	b = binary.BigEndian.AppendUint16(b, uint16(4+2+9*len(types)))
	b = binary.BigEndian.AppendUint16(b, uint16(len(types)))
	b = append(b, types...)
	for i, t := range types {
		if t == DSGauge {
			b = binary.LittleEndian.AppendUint64(b, math.Float64bits(vals[i]))
		} else {
			b = binary.BigEndian.AppendUint64(b, uint64(int64(vals[i])))
		}
	}
	return b
}

// packet joins parts.
func packet(parts ...[]byte) []byte {
	var b []byte
	for _, p := range parts {
		b = append(b, p...)
	}
	return b
}

func sign(user, pass string, payload []byte) []byte {
	mac := hmac.New(sha256.New, []byte(pass))
	mac.Write([]byte(user))
	mac.Write(payload)
	b := binary.BigEndian.AppendUint16(nil, partSignSHA256)
	b = binary.BigEndian.AppendUint16(b, uint16(4+32+len(user)))
	b = append(b, mac.Sum(nil)...)
	b = append(b, user...)
	return append(b, payload...)
}

func encrypt(user, pass string, payload []byte, iv [16]byte) []byte {
	sum := sha1.Sum(payload)
	plain := append(sum[:], payload...)
	key := sha256.Sum256([]byte(pass))
	block, _ := aes.NewCipher(key[:])
	enc := make([]byte, len(plain))
	cipher.NewOFB(block, iv[:]).XORKeyStream(enc, plain)
	b := binary.BigEndian.AppendUint16(nil, partEncrAES256)
	b = binary.BigEndian.AppendUint16(b, uint16(4+2+len(user)+16+len(enc)))
	b = binary.BigEndian.AppendUint16(b, uint16(len(user)))
	b = append(b, user...)
	b = append(b, iv[:]...)
	return append(b, enc...)
}

// samplePacket is a value list of each kind for host h at time sec.
func samplePacket(h string, sec uint64) []byte {
	return packet(strPart(partHost, h), numPart(partTimeHR, sec<<30), numPart(partIntervalHR, 10<<30),
		strPart(partPlugin, "load"), strPart(partType, "load"), valuesPart([]uint8{DSGauge, DSGauge, DSGauge}, []float64{0.5, 0.25, 0.125}),
		strPart(partPlugin, "interface"), strPart(partPluginInstance, "eth0"), strPart(partType, "if_octets"),
		valuesPart([]uint8{DSDerive, DSDerive}, []float64{1000, 2000}),
		strPart(partPlugin, "memory"), strPart(partPluginInstance, ""), strPart(partType, "memory"), strPart(partTypeInstance, "used"),
		valuesPart([]uint8{DSGauge}, []float64{1 << 30}))
}
