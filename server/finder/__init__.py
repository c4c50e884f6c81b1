"""The station finder riders use without logging in: the public station list
(``/api/public/stations``), the ``/find`` page, and the service worker that opens it (and the
rider's code page) without network. Only what riders may read of a station leaves here."""
