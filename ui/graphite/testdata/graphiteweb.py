"""Test helper for ui/graphite's differential test (Debian graphite-web 1.1.8).

  graphiteweb.py whisper SPEC.json DIR   write whisper files as carbon would
  graphiteweb.py serve STORAGE_DIR [TAGGED_SERIES...]
                                         run graphite-web on 127.0.0.1, print the port
"""
import json
import os
import sys


def make_whisper(spec_file, whisper_dir):
    import whisper
    with open(spec_file) as f:
        spec = json.load(f)
    for s in spec['series']:
        if ';' in s['path']:
            # carbon's layout for tagged series: _tagged/<hash>/<name>.wsp
            from graphite.tags.utils import TaggedSeries
            path = os.path.join(whisper_dir, TaggedSeries.encode(s['path'], os.sep)) + '.wsp'
        else:
            path = os.path.join(whisper_dir, *s['path'].split('.')) + '.wsp'
        os.makedirs(os.path.dirname(path), exist_ok=True)
        whisper.create(path, [tuple(a) for a in s['archives']],
                       xFilesFactor=s['xff'], aggregationMethod='average')
        points = [tuple(p) for p in s['points']]
        # as carbon writes them as they arrive: an hour at a time, each
        # batch written when its last point is a minute old, so every
        # point lands in the finest archive and propagates down
        batch = []
        for p in points:
            if batch and p[0] // 3600 != batch[0][0] // 3600:
                whisper.update_many(path, batch, now=int(batch[-1][0]) + 60)
                batch = []
            batch.append(p)
        if batch:
            whisper.update_many(path, batch, now=int(batch[-1][0]) + 60)


SETTINGS = '''
SECRET_KEY = 'rrdash-differential-test'
TIME_ZONE = 'UTC'
STORAGE_DIR = {storage!r}
WHISPER_DIR = {whisper!r}
STANDARD_DIRS = [{whisper!r}]
LOG_DIR = {log!r}
INDEX_FILE = {index!r}
DATABASES = {{'default': {{'NAME': {db!r}, 'ENGINE': 'django.db.backends.sqlite3'}}}}
DEFAULT_XFILES_FACTOR = 0
FUNCTION_PLUGINS = []
CARBONLINK_HOSTS = []
DEFAULT_CACHE_DURATION = 0
LOG_RENDERING_PERFORMANCE = False
LOG_CACHE_PERFORMANCE = False
'''


def serve(storage, tagged):
    whisper_dir = os.path.join(storage, 'whisper')
    log_dir = os.path.join(storage, 'log')
    os.makedirs(log_dir, exist_ok=True)
    with open(os.path.join(storage, 'rrdash_gw_settings.py'), 'w') as f:
        f.write(SETTINGS.format(storage=storage, whisper=whisper_dir, log=log_dir,
                                index=os.path.join(storage, 'index'),
                                db=os.path.join(storage, 'graphite.db')))
    sys.path.insert(0, storage)
    os.environ['GRAPHITE_SETTINGS_MODULE'] = 'rrdash_gw_settings'
    os.environ['DJANGO_SETTINGS_MODULE'] = 'graphite.settings'
    import django
    django.setup()
    from django.core.management import call_command
    call_command('migrate', verbosity=0, interactive=False)
    # what carbon does for a new tagged series: tell the tag database
    from graphite.storage import STORE
    for path in tagged:
        STORE.tagdb.tag_series(path)
    from django.core.wsgi import get_wsgi_application
    from wsgiref.simple_server import make_server, WSGIRequestHandler

    class Quiet(WSGIRequestHandler):
        def log_message(self, *args):
            pass

    httpd = make_server('127.0.0.1', 0, get_wsgi_application(), handler_class=Quiet)
    print(httpd.server_port, flush=True)
    httpd.serve_forever()


if __name__ == '__main__':
    if sys.argv[1] == 'whisper':
        make_whisper(sys.argv[2], sys.argv[3])
    elif sys.argv[1] == 'serve':
        serve(sys.argv[2], sys.argv[3:])
    else:
        sys.exit('usage: graphiteweb.py whisper SPEC DIR | serve STORAGE_DIR')
