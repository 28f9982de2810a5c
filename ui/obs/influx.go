package obs

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Request points in InfluxDB: every request is a point of the measurement
// `requests`, every failed one (status ≥ 400, panics) also a point of
// `errors`, at the request's start (nanoseconds):
//
//	requests,route=POST:/api/v1/write,service=rrdash,status_code=204 request_id="…",execution_time=0.0012 1700000000000000000
//	errors,error_code=bad_request,route=POST:/api/v1/write,service=rrdash,status_code=400 request_id="…" 1700000000000000000
const (
	MeasurementRequests = "requests"
	MeasurementErrors   = "errors"
)

// InfluxConfig configures the influxdb sink. Database (with an optional
// RetentionPolicy, Username and Password) writes through InfluxDB 1.x's
// /write; Bucket (with Org and Token) through 2.x's /api/v2/write.
type InfluxConfig struct {
	URL             string // base URL, e.g. http://127.0.0.1:8086
	Database        string
	RetentionPolicy string
	Username        string
	Password        string
	Bucket          string
	Org             string
	Token           string
	Service         string        // the service tag (default "rrdash")
	Gzip            bool          // compress request bodies
	Timeout         time.Duration // per write (default 10s)
	Client          *http.Client
}

// InfluxSink writes request points to InfluxDB over its HTTP line
// protocol API.
type InfluxSink struct {
	cfg      InfluxConfig
	writeURL string
	auth     string
	body     bytes.Buffer
	zbody    bytes.Buffer
	zw       *gzip.Writer
}

// NewInfluxSink checks cfg and returns the sink.
func NewInfluxSink(cfg InfluxConfig) (*InfluxSink, error) {
	u, err := url.Parse(cfg.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("monitoring.influxdb.url %q: want an http:// or https:// URL", cfg.URL)
	}
	if cfg.Service == "" {
		cfg.Service = "rrdash"
	}
	if strings.ContainsAny(cfg.Service, "\n\r") {
		return nil, fmt.Errorf("monitoring.service %q: no line breaks", cfg.Service)
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 10 * time.Second
	}
	if cfg.Client == nil {
		cfg.Client = &http.Client{}
	}
	s := &InfluxSink{cfg: cfg}
	q := url.Values{"precision": {"ns"}}
	base := strings.TrimSuffix(u.String(), "/")
	switch {
	case cfg.Database != "" && cfg.Bucket != "":
		return nil, errors.New("monitoring.influxdb: set database (InfluxDB 1.x) or bucket (2.x), not both")
	case cfg.Database != "":
		if cfg.Token != "" || cfg.Org != "" {
			return nil, errors.New("monitoring.influxdb: token and org belong to bucket (InfluxDB 2.x); with database use username and password")
		}
		q.Set("db", cfg.Database)
		if cfg.RetentionPolicy != "" {
			q.Set("rp", cfg.RetentionPolicy)
		}
		s.writeURL = base + "/write?" + q.Encode()
		if cfg.Username != "" || cfg.Password != "" {
			req := http.Request{Header: http.Header{}}
			req.SetBasicAuth(cfg.Username, cfg.Password)
			s.auth = req.Header.Get("Authorization")
		}
	case cfg.Bucket != "":
		if cfg.Username != "" || cfg.Password != "" || cfg.RetentionPolicy != "" {
			return nil, errors.New("monitoring.influxdb: username, password and retention_policy belong to database (InfluxDB 1.x); with bucket use token and org")
		}
		q.Set("bucket", cfg.Bucket)
		if cfg.Org != "" {
			q.Set("org", cfg.Org)
		}
		s.writeURL = base + "/api/v2/write?" + q.Encode()
		if cfg.Token != "" {
			s.auth = "Token " + cfg.Token
		}
	default:
		return nil, errors.New("monitoring.influxdb: set database (InfluxDB 1.x) or bucket (2.x)")
	}
	if cfg.Gzip {
		s.zw = gzip.NewWriter(&s.zbody)
	}
	return s, nil
}

// Flush writes the points; an empty batch sends nothing. A 4xx answer
// (other than 429) is permanent: the batch is not retried.
func (s *InfluxSink) Flush(ctx context.Context, pts []Request) error {
	if len(pts) == 0 {
		return nil
	}
	s.body.Reset()
	s.body.Write(AppendInfluxLines(s.body.AvailableBuffer(), s.cfg.Service, pts))
	body := &s.body
	if s.zw != nil {
		s.zbody.Reset()
		s.zw.Reset(&s.zbody)
		s.zw.Write(s.body.Bytes())
		s.zw.Close()
		body = &s.zbody
	}
	ctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.writeURL, bytes.NewReader(body.Bytes()))
	if err != nil {
		return Permanent(fmt.Errorf("influxdb write: %w", err))
	}
	req.Header.Set("Content-Type", "text/plain; charset=utf-8")
	if s.zw != nil {
		req.Header.Set("Content-Encoding", "gzip")
	}
	if s.auth != "" {
		req.Header.Set("Authorization", s.auth)
	}
	resp, err := s.cfg.Client.Do(req)
	if err != nil {
		return fmt.Errorf("influxdb write: %w", redactURLError(err))
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode/100 == 2 {
		return nil
	}
	err = fmt.Errorf("influxdb write: %s: %s", resp.Status, strings.TrimSpace(string(msg)))
	if resp.StatusCode/100 == 4 && resp.StatusCode != http.StatusTooManyRequests {
		return Permanent(err)
	}
	return err
}

// Close implements RequestSink.
func (s *InfluxSink) Close() error { return nil }

// redactURLError drops the URL from a client error: the query may carry
// a database name only, but user information in a URL must never be
// logged.
func redactURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return fmt.Errorf("%s: %w", ue.Op, ue.Err)
	}
	return err
}

// AppendInfluxLines appends the line-protocol lines of pts to b.
func AppendInfluxLines(b []byte, service string, pts []Request) []byte {
	for i := range pts {
		p := &pts[i]
		b = append(b, MeasurementRequests...)
		b = appendTag(b, "route", p.Route)
		b = appendTag(b, "service", service)
		b = append(b, ",status_code="...)
		b = strconv.AppendInt(b, int64(p.Status), 10)
		b = append(b, ` request_id="`...)
		b = p.ID.Append(b)
		b = append(b, `",execution_time=`...)
		b = strconv.AppendFloat(b, p.Duration.Seconds(), 'g', -1, 64)
		b = append(b, ' ')
		b = strconv.AppendInt(b, p.Start.UnixNano(), 10)
		b = append(b, '\n')
		if p.Status < 400 && p.ErrorCode == "" {
			continue
		}
		b = append(b, MeasurementErrors...)
		b = appendTag(b, "error_code", p.ErrorCode)
		b = appendTag(b, "route", p.Route)
		b = appendTag(b, "service", service)
		b = append(b, ",status_code="...)
		b = strconv.AppendInt(b, int64(p.Status), 10)
		b = append(b, ` request_id="`...)
		b = p.ID.Append(b)
		b = append(b, `" `...)
		b = strconv.AppendInt(b, p.Start.UnixNano(), 10)
		b = append(b, '\n')
	}
	return b
}

// appendTag appends ",key=value" with the line protocol's escapes for tag
// values (comma, equals sign, space). An empty value, which the protocol
// cannot carry, is written as "none".
func appendTag(b []byte, key, v string) []byte {
	b = append(b, ',')
	b = append(b, key...)
	b = append(b, '=')
	if v == "" {
		return append(b, "none"...)
	}
	for i := 0; i < len(v); i++ {
		switch c := v[i]; c {
		case ',', '=', ' ':
			b = append(b, '\\', c)
		case '\n', '\r':
			b = append(b, '\\', ' ') // never in route patterns or codes; keep the line intact
		default:
			b = append(b, c)
		}
	}
	return b
}

// permanentError marks an error that retrying cannot fix.
type permanentError struct{ err error }

func (e permanentError) Error() string { return e.err.Error() }
func (e permanentError) Unwrap() error { return e.err }

// Permanent wraps err so that Monitoring does not retry the batch.
func Permanent(err error) error { return permanentError{err} }

// IsPermanent reports whether err was wrapped by Permanent.
func IsPermanent(err error) bool {
	var p permanentError
	return errors.As(err, &p)
}
