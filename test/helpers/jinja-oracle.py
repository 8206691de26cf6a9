"""Renders template cases with Ansible's own Templar: the oracle for the Jinja2 differential test.

Reads a JSON list of {src, vars, mode} on stdin; writes a JSON list of {ok, out} or
{ok: false, error} on stdout. mode "file" renders as the template module does; mode
"value" templates a playbook value (the result's type kept, printed as JSON).
"""
import json
import sys

from ansible.parsing.dataloader import DataLoader
from ansible.template import Templar


def main():
    cases = json.load(sys.stdin)
    results = []
    for case in cases:
        templar = Templar(loader=DataLoader(), variables=case.get('vars', {}))
        try:
            if case.get('mode') == 'value':
                out = json.dumps(templar.template(case['src']), separators=(',', ':'), ensure_ascii=False)
            else:
                out = templar.do_template(case['src'], preserve_trailing_newlines=True, escape_backslashes=False)
            results.append({'ok': True, 'out': out})
        except Exception as e:  # the error itself is the answer
            results.append({'ok': False, 'error': '%s: %s' % (type(e).__name__, e)})
    json.dump(results, sys.stdout)


main()
