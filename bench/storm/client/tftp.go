package main

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"sort"
	"strconv"
	"strings"
	"time"
)

// TFTP opcodes (RFC 1350, RFC 2347).
const (
	opRRQ   = 1
	opDATA  = 3
	opACK   = 4
	opERROR = 5
	opOACK  = 6
)

// tftpRequest is one read, with the options a UEFI firmware asks for
// (edk2 sends blksize, tsize and windowsize; see NETBOOT-TESTING.md).
type tftpRequest struct {
	local   net.IP // the leased address the request comes from
	server  *net.UDPAddr
	file    string
	blksize int // 0: not asked
	window  int // RFC 7440 windowsize; 0: not asked
	timeout time.Duration
	retries int           // timeouts in a row before giving up
	want    []byte        // expected content, nil: not checked
	stats   *tftpTransfer // filled in
}

// tftpTransfer is what one read negotiated and cost.
type tftpTransfer struct {
	granted  string // OACK options as "blksize=1468 tsize=173792", or "no OACK"
	bytes    int
	timeouts int // times the client's timer fired (RRQ or ACK sent again)
}

// tftpGet reads req.file. It sends ACKs as RFC 7440 says when the server
// granted a window (one per window, and on a gap the last block received
// in order), lock-step otherwise, and compares the data with req.want as
// it arrives.
func tftpGet(ctx context.Context, req tftpRequest) error {
	st := req.stats
	conn, err := net.ListenUDP("udp4", &net.UDPAddr{IP: req.local})
	if err != nil {
		return err
	}
	defer conn.Close()
	end, bounded := ctx.Deadline()

	rrq := binary.BigEndian.AppendUint16(nil, opRRQ)
	opts := []string{req.file, "octet"}
	if req.blksize > 0 {
		opts = append(opts, "blksize", strconv.Itoa(req.blksize))
	}
	opts = append(opts, "tsize", "0")
	if req.window > 0 {
		opts = append(opts, "windowsize", strconv.Itoa(req.window))
	}
	for _, s := range opts {
		rrq = append(append(rrq, s...), 0)
	}

	var (
		peer     *net.UDPAddr // the server's transfer port (its TID), once known
		blksize  = 512
		window   = 1
		tsize    = -1
		last     int  // blocks received in order
		acked    int  // last block acknowledged
		gapAcked bool // a gap was answered since the last progress
		timeouts int  // in a row
		buf      = make([]byte, 65536+4)
	)
	send := func(p []byte, to *net.UDPAddr) error {
		_, err := conn.WriteToUDP(p, to)
		return err
	}
	ack := func(block int) error {
		acked = block
		return send(binary.BigEndian.AppendUint16(binary.BigEndian.AppendUint16(nil, opACK), uint16(block)), peer)
	}
	if err := send(rrq, req.server); err != nil {
		return err
	}
	st.granted = "no OACK"
	for {
		d := time.Now().Add(req.timeout)
		if bounded && end.Before(d) {
			d = end
		}
		conn.SetReadDeadline(d)
		n, from, err := conn.ReadFromUDP(buf)
		if err != nil {
			if ctx.Err() != nil || (bounded && !time.Now().Before(end)) {
				return fmt.Errorf("%s: block %d of %s: %w", req.file, last+1, tsizeString(tsize, blksize), context.DeadlineExceeded)
			}
			var ne net.Error
			if !errors.As(err, &ne) || !ne.Timeout() {
				return err
			}
			st.timeouts++
			timeouts++
			if timeouts > req.retries {
				return fmt.Errorf("%s: %d timeouts of %v in a row waiting for block %d of %s", req.file, timeouts, req.timeout, last+1, tsizeString(tsize, blksize))
			}
			if peer == nil {
				err = send(rrq, req.server)
			} else {
				err = ack(last)
			}
			if err != nil {
				return err
			}
			continue
		}
		if !from.IP.Equal(req.server.IP) || n < 4 {
			continue
		}
		if peer == nil {
			peer = from
		} else if from.Port != peer.Port {
			// RFC 1350: a packet from another TID gets error 5 and is
			// otherwise ignored.
			send(append(binary.BigEndian.AppendUint16(binary.BigEndian.AppendUint16(nil, opERROR), 5), "unknown transfer ID\x00"...), from)
			continue
		}
		p := buf[:n]
		switch binary.BigEndian.Uint16(p) {
		case opERROR:
			msg, _, _ := bytes.Cut(p[4:], []byte{0})
			return fmt.Errorf("%s: TFTP error %d: %q", req.file, binary.BigEndian.Uint16(p[2:]), msg)
		case opOACK:
			if last > 0 {
				continue // a duplicate, after the data started
			}
			o := parseOptions(p[2:])
			st.granted = o.String()
			if v, ok := o["blksize"]; ok {
				blksize = v
			}
			if v, ok := o["windowsize"]; ok {
				window = v
			}
			if v, ok := o["tsize"]; ok {
				tsize = v
			}
			timeouts = 0
			if err := ack(0); err != nil {
				return err
			}
		case opDATA:
			block := binary.BigEndian.Uint16(p[2:])
			data := p[4:]
			if block != uint16(last+1) {
				// A duplicate or a gap: say where we are, once per stall,
				// so that a window does not turn into a storm of ACKs.
				if !gapAcked {
					gapAcked = true
					if err := ack(last); err != nil {
						return err
					}
				}
				continue
			}
			if len(data) > blksize {
				return fmt.Errorf("%s: block %d has %d bytes, blksize is %d", req.file, block, len(data), blksize)
			}
			if req.want != nil {
				off := st.bytes
				if off+len(data) > len(req.want) || !bytes.Equal(data, req.want[off:off+len(data)]) {
					return fmt.Errorf("%s: block %d differs from the file", req.file, block)
				}
			}
			st.bytes += len(data)
			last++
			timeouts = 0
			gapAcked = false
			if len(data) < blksize {
				if err := ack(last); err != nil {
					return err
				}
				if tsize >= 0 && st.bytes != tsize {
					return fmt.Errorf("%s: got %d bytes, tsize said %d", req.file, st.bytes, tsize)
				}
				if req.want != nil && st.bytes != len(req.want) {
					return fmt.Errorf("%s: got %d bytes of %d", req.file, st.bytes, len(req.want))
				}
				return nil
			}
			if last-acked >= window {
				if err := ack(last); err != nil {
					return err
				}
			}
		}
	}
}

func tsizeString(tsize, blksize int) string {
	if tsize < 0 {
		return "an unknown number"
	}
	return strconv.Itoa(tsize/blksize + 1)
}

// tftpOptions are the options of an OACK.
type tftpOptions map[string]int

func parseOptions(p []byte) tftpOptions {
	o := tftpOptions{}
	f := strings.Split(string(p), "\x00")
	for i := 0; i+1 < len(f); i += 2 {
		if v, err := strconv.Atoi(f[i+1]); err == nil {
			o[strings.ToLower(f[i])] = v
		}
	}
	return o
}

func (o tftpOptions) String() string {
	if len(o) == 0 {
		return "empty OACK"
	}
	var s []string
	for k, v := range o {
		s = append(s, fmt.Sprintf("%s=%d", k, v))
	}
	sort.Strings(s)
	return strings.Join(s, " ")
}
