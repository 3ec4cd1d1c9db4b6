"""Signs in at an authorization URL the way a person would in a browser, with plain HTTP:
follows redirects, fills in oidc-provider's development login form (any name and password),
and stops at the redirect back to the loopback address, which it then visits.

Usage: sign_in.py AUTHORIZATION_URL [USER]
Prints the final page's text.
"""

import re
import sys
import urllib.parse

import httpx2 as httpx


def main():
    url, user = sys.argv[1], (sys.argv[2] if len(sys.argv) > 2 else "alice")
    issuer = urllib.parse.urlsplit(url)
    origin = f"{issuer.scheme}://{issuer.netloc}"
    with httpx.Client(follow_redirects=False, timeout=30) as client:
        response = client.get(url)
        for _ in range(20):
            if response.status_code in (302, 303) and "location" in response.headers:
                target = urllib.parse.urljoin(origin, response.headers["location"])
                if not target.startswith(origin):
                    # The redirect back to Switchboard's loopback port.
                    final = httpx.get(target, timeout=30)
                    print(re.sub(r"<[^>]+>", " ", final.text).strip())
                    return
                response = client.get(target)
            elif response.status_code == 200 and "<form" in response.text:
                action = re.search(r'<form[^>]*action="([^"]+)"', response.text).group(1)
                fields = dict(re.findall(r'<input[^>]*name="([^"]+)"[^>]*value="([^"]*)"', response.text))
                if 'name="login"' in response.text:
                    fields.update(login=user, password="any")
                response = client.post(urllib.parse.urljoin(origin, action), data=fields)
            else:
                sys.exit(f"unexpected answer {response.status_code}: {response.text[:300]}")
    sys.exit("too many steps without reaching the redirect back")


if __name__ == "__main__":
    main()
