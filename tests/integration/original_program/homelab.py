#!/usr/bin/env python3
"""A small home-lab service written against the original kcore API (ktools'
pylib/kcore), kept exactly as such a user would have written it: the test
runs it unchanged on kcore's distributions.

It logs to a file, reads its settings from YAML and the environment, keeps
readings in a persister, runs a time queue, drives a simulated button and
LED, and serves a page and /varz.
"""

import sys
from dataclasses import dataclass

import kcore.common as C
import kcore.gpio as G
import kcore.persister as P
import kcore.settings as S
import kcore.time_queue as TQ
import kcore.varz as V
import kcore.webserver as W


@dataclass
class Reading:
    sensor: str = ''
    value: float = 0.0
    count: int = 0


def out(*args):
    print(*args)
    sys.stdout.flush()


def main():
    C.init_log('homelab', logfile='homelab.log', filter_level_stderr=C.NEVER)
    C.log_info('starting up')

    # ---- settings: a YAML file, an environment variable, a default
    settings = S.Settings('homelab.yaml')
    settings.add_setting('port', default='8080')
    settings.add_setting('site', default='nowhere')
    settings.add_setting('sensors', env_name='HOMELAB_SENSORS')
    settings.add_setting('greeting', default='hello from %{site}')
    port = settings.get_int('port')
    out('site:', settings['site'])
    out('sensors:', settings.get('sensors'))
    out('greeting:', settings.get('greeting'))

    # ---- persister: readings survive a restart
    db = P.PersisterDictOfDC('readings.data', Reading)
    with db.get_rw() as d:
        for sensor in settings.get('sensors'):
            r = d.get(sensor) or Reading(sensor=sensor)
            r.value = 21.5
            r.count += 1
            d[sensor] = r
    again = P.PersisterDictOfDC('readings.data', Reading)
    out('readings:', sorted((k, v.count) for k, v in again.get_data().items()))

    # ---- time queue: a delay and a daily event, on injected time
    fired = []
    tq = TQ.TimeQueue()
    tq.add_event(TQ.TimedEvent(6, 30, fired.append, ['wake-up'], _force_now_ms=TQ.hm_to_ms(6, 0)))
    out('fired before 6:30:', tq.check(use_ms_time=TQ.hm_to_ms(6, 10)))
    out('fired at 6:31:', tq.check(use_ms_time=TQ.hm_to_ms(6, 31)), fired)
    tq.add(0, fired.append, ['now'])
    tq.check()
    out('fired:', fired)

    # ---- a simulated button toggles a simulated LED
    G.init(simulation=True)
    led = G.KLed(27)

    def pressed(pin):
        C.log_info('button %s pressed' % pin)
        V.bump('presses')
        led.toggle()

    button = G.KButton(17, func=pressed, name='door', background=False)
    button.simulate_press(200)
    out('led after one press:', led.get())

    # ---- a web server with a handler, and /varz
    def hello(request):
        V.bump('hellos')
        return settings.get('greeting') + ', ' + request.get_params.get('name', 'stranger')

    ws = W.WebServer({'/hello': hello}, port=port)
    ws.start()
    base = 'http://localhost:%d' % port
    out('page:', C.read_web(base + '/hello?name=sam'))
    out('hellos on /varz:', C.read_web(base + '/varz?hellos'))
    out('presses on /varz:', C.read_web(base + '/varz?presses'))
    out('healthz:', C.read_web(base + '/healthz'))
    C.log_error('a test error')
    out('errors counted:', V.get('log-error-or-higher'))
    ws.httpd.shutdown()
    ws.web_thread.join(10)
    out('server stopped:', not ws.web_thread.is_alive())
    C.log_info('done')
    out('last log line:', C.LOG_QUEUE[0])


if __name__ == '__main__':
    main()
