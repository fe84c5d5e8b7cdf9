package state

import (
	"encoding/binary"
	"path/filepath"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// TestClockRemembers: a clock stepped back across a restart does not take
// the store's clock with it.
func TestClockRemembers(t *testing.T) {
	path := filepath.Join(t.TempDir(), FileName)
	s := open(t, path)
	s.Close()
	future := time.Now().Add(48 * time.Hour)
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	db.Update(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketMeta).Put(keyClock, binary.BigEndian.AppendUint64(nil, uint64(future.UnixNano())))
	})
	db.Close()
	s = open(t, path)
	defer s.Close()
	if now := s.Now(); now.Before(future) {
		t.Errorf("Now = %v, before the remembered %v", now, future)
	}
}
