"""Real NMI answers, as recorded in public client libraries' test fixtures (see the guide,
gateway-nmi.md). The duplicate and void bodies are built from the documented texts in the same
layout; the query report keeps the documented element names and order, trimmed."""

APPROVED = (
    "response=1&responsetext=SUCCESS&authcode=123456&transactionid=2762757839&avsresponse=N"
    "&cvvresponse=N&orderid=1&type=sale&response_code=100"
)
DECLINED = (
    "response=2&responsetext=DECLINE&authcode=&transactionid=987654321&avsresponse=N"
    "&cvvresponse=N&orderid=1&type=sale&response_code=200"
)
INVALID_CARD = (
    "response=3&responsetext=Invalid Credit Card Number REFID:3502947912&authcode="
    "&transactionid=&avsresponse=&cvvresponse=&orderid=&type=sale&response_code=300"
)
CUSTOMER_ADDED = (
    "response=1&responsetext=Customer Added&authcode=&transactionid=&avsresponse=&cvvresponse="
    "&orderid=&type=&response_code=100&customer_vault_id=256806849"
)
CUSTOMER_DELETED = (
    "response=1&responsetext=Customer Deleted&authcode=&transactionid=&avsresponse=&cvvresponse="
    "&orderid=&type=&response_code=100&merchant_defined_field_6=&merchant_defined_field_7="
    "&customer_vault_id="
)
DUPLICATE = (
    "response=3&responsetext=Duplicate transaction REFID:3502947913&authcode=&transactionid="
    "&avsresponse=&cvvresponse=&orderid=1&type=sale&response_code=300"
)
VOIDED = (
    "response=1&responsetext=Transaction Void Successful&authcode=123456"
    "&transactionid=2762757839&avsresponse=&cvvresponse=&orderid=1&type=void&response_code=100"
)
AUTHENTICATION_FAILED = (
    "response=3&responsetext=Authentication Failed&authcode=&transactionid=&avsresponse="
    "&cvvresponse=&orderid=&type=sale&response_code=300"
)

QUERY_REPORT = """<?xml version="1.0" encoding="UTF-8"?>
<nm_response>
	<transaction>
		<transaction_id>1176380853</transaction_id>
		<platform_id></platform_id>
		<transaction_type>cc</transaction_type>
		<condition>pendingsettlement</condition>
		<order_id>pay-42-1</order_id>
		<authorization_code>123456</authorization_code>
		<ponumber></ponumber>
		<first_name>Ada</first_name>
		<postal_code>12344</postal_code>
		<customerid>279963267</customerid>
		<cc_number>4xxxxxxxxxxx1111</cc_number>
		<cc_hash>f6c609e195d9d4c185dcc8ca662f0180</cc_hash>
		<cc_exp>0621</cc_exp>
		<avs_response>N</avs_response>
		<csc_response>M</csc_response>
		<currency>USD</currency>
		<cc_bin>411111</cc_bin>
		<action>
			<amount>1.00</amount>
			<action_type>sale</action_type>
			<date>20100118171243</date>
			<success>1</success>
			<ip_address>74.73.145.54</ip_address>
			<source>api</source>
			<username>BraintreeTest</username>
			<response_text>SUCCESS</response_text>
			<batch_id>0</batch_id>
			<processor_batch_id></processor_batch_id>
		</action>
	</transaction>
	<transaction>
		<transaction_id>12030573999</transaction_id>
		<transaction_type>ck</transaction_type>
		<condition>failed</condition>
		<order_id>pay-43-1</order_id>
		<check_account>xxxxxx0001</check_account>
		<action>
			<amount>9.99</amount>
			<action_type>sale</action_type>
			<date>20260507010203</date>
			<success>1</success>
			<response_text>SUCCESS</response_text>
			<response_code>100</response_code>
		</action>
		<action>
			<amount>9.99</amount>
			<action_type>settle</action_type>
			<date>20260508000000</date>
			<success>1</success>
			<response_code>100</response_code>
		</action>
		<action>
			<amount>9.99</amount>
			<action_type>check_return</action_type>
			<date>20260510000000</date>
			<success>1</success>
			<response_text>R01: Insufficient Funds</response_text>
		</action>
	</transaction>
</nm_response>
"""

QUERY_EMPTY = """<?xml version="1.0" encoding="UTF-8"?>
<nm_response>
</nm_response>
"""

QUERY_REFUSED = """<?xml version="1.0" encoding="UTF-8"?>
<nm_response>
	<error_response>Invalid Username/Password REFID:200402058</error_response>
</nm_response>
"""
