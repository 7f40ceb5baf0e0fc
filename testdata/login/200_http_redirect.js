window.code=200;
window.redirect_uri="http://wx2.qq.com/cgi-bin/mmwebwx-bin/webwxnewloginpage?ticket=A6NZfake@qrticket_0&uuid=4dcaWx3uBw==&lang=zh_CN&scan=1463755895";